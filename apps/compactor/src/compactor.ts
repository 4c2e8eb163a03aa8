import { checkpoints, ensureStreams, joinBus, publishDurable, StoredMessage } from '@chainlake/bus';
import { HotStore } from '@chainlake/hot';
import { RestCatalogClient } from '@chainlake/iceberg';
import { JobRunner, startSchedule } from '@chainlake/jobs';
import { LocalWarehouse, ManifestStore } from '@chainlake/lake';
import { joinPostgres } from '@chainlake/postgres';
import type { ServiceContext } from '@chainlake/service';
import type { CompactorConfig } from './config.js';
import { FinalizedHeight, followHeads } from './finality.js';
import { hotToColdJob, type HotToColdResult } from './hot-to-cold.js';
import { LakeTable } from './lake-table.js';
import { maintenanceJob } from './maintenance.js';
import { mergeJob } from './merge.js';
import { CompactedHeights, pendingHotRange, startThreshold } from './threshold.js';
import { jobRoutes, serveJobRequests } from './triggers.js';

/** Rows per batch read from the hot tier. */
const HOT_BATCH_ROWS = 16_384;
/** The threshold trigger checks the hot tier at most this often. */
const THRESHOLD_CHECK_INTERVAL_MS = 1_000;

export async function startCompactor(ctx: ServiceContext<CompactorConfig>): Promise<void> {
  const { config, log, metrics } = ctx;
  const chain = config.CHAINLAKE_CHAIN;
  const datasets = config.CHAINLAKE_DATASETS;

  const invalid = metrics.counter('invalid_messages_total', 'Invalid head, stored or job request messages');
  const rowsCompacted = metrics.counter('rows_compacted_total', 'Rows moved from the hot tier to Parquet', ['dataset']);
  const filesCompacted = metrics.counter('files_compacted_total', 'Parquet files written by hot→cold', ['dataset']);
  const bytesCompacted = metrics.counter('bytes_compacted_total', 'Parquet bytes written by hot→cold', ['dataset']);
  const hotRowsDeleted = metrics.counter('hot_rows_deleted_total', 'Hot rows deleted after their blocks were committed to Parquet', ['dataset']);
  const mergeInputs = metrics.counter('merge_input_files_total', 'Small files merge replaced', ['dataset']);
  const mergeOutputs = metrics.counter('merge_output_files_total', 'Files merge wrote', ['dataset']);
  const mergeBytes = metrics.counter('merge_input_bytes_total', 'Bytes of the small files merge rewrote', ['dataset']);
  const expiredSnapshots = metrics.counter('snapshots_expired_total', 'Snapshots expired by maintenance', ['dataset']);
  const deletedFiles = metrics.counter('files_deleted_total', 'Files maintenance deleted, by why (expired, orphan, staging)', ['dataset', 'kind']);
  const deletedBytes = metrics.counter('bytes_deleted_total', 'Bytes maintenance deleted, by why (expired, orphan)', ['dataset', 'kind']);
  const finalizedGauge = metrics.gauge('finalized_block', 'Finalized height from head messages: hot→cold goes no higher');

  const bus = await joinBus(ctx);
  await ensureStreams(bus);
  const pool = await joinPostgres(ctx);
  const hot = new HotStore({ pool, schema: config.CHAINLAKE_POSTGRES_SCHEMA, chain });
  await hot.ensureTables(datasets);
  const catalog = new RestCatalogClient({ uri: config.CHAINLAKE_CATALOG_URL, token: config.CHAINLAKE_AUTH_TOKEN || undefined });
  const warehouse = new LocalWarehouse(config.CHAINLAKE_WAREHOUSE);
  const manifests = new ManifestStore(warehouse);
  const tables = new Map(datasets.map((def) => [def.name, new LakeTable(catalog, warehouse, manifests, chain, def)]));
  const parquet = {
    compression: config.CHAINLAKE_PARQUET_COMPRESSION,
    rowGroupRows: config.CHAINLAKE_PARQUET_ROW_GROUP_ROWS,
    minSavingPercent: config.CHAINLAKE_PARQUET_MIN_SAVING_PCT,
  };
  const finalized = new FinalizedHeight();
  const compacted = new CompactedHeights(await checkpoints(bus), chain);

  const announceCold = async (r: HotToColdResult): Promise<void> => {
    if (!r.written) return;
    try {
      await publishDurable(bus, bus.subjects.stored(chain), StoredMessage, { v: 1, chain, tier: 'cold', dataset: r.dataset, from: r.written.from, to: r.written.to, rows: r.rows });
    } catch (err) {
      log.warn({ err: String(err), dataset: r.dataset }, 'stored announcement failed');
    }
  };

  const jobs = new JobRunner({ timeoutMs: config.CHAINLAKE_COMPACTOR_JOB_TIMEOUT_MS, metrics, log });
  jobs.register(
    hotToColdJob({
      chain, tables, hot, finalized, warehouse, parquet, batchRows: HOT_BATCH_ROWS,
      defaults: { chunkSize: config.CHAINLAKE_COMPACTOR_CHUNK_SIZE, deleteAfterCompact: config.CHAINLAKE_COMPACTOR_DELETE_AFTER_COMPACT },
      async onCompacted(r) {
        rowsCompacted.inc({ dataset: r.dataset }, r.rows);
        filesCompacted.inc({ dataset: r.dataset }, r.files);
        bytesCompacted.inc({ dataset: r.dataset }, r.bytes);
        hotRowsDeleted.inc({ dataset: r.dataset }, r.hot_rows_deleted);
        await compacted.advance(r.dataset, r.from, r.to);
        await announceCold(r);
      },
    }),
  );
  jobs.register(
    mergeJob({
      tables, warehouse, parquet,
      defaults: {
        minFileCount: config.CHAINLAKE_COMPACTOR_MIN_FILE_COUNT,
        maxFileSize: config.CHAINLAKE_COMPACTOR_MAX_FILE_SIZE,
        targetFileSize: config.CHAINLAKE_COMPACTOR_TARGET_FILE_SIZE,
      },
      onMerged(r) {
        mergeInputs.inc({ dataset: r.dataset }, r.files_before);
        mergeOutputs.inc({ dataset: r.dataset }, r.files_after);
        mergeBytes.inc({ dataset: r.dataset }, r.bytes_before);
      },
    }),
  );
  jobs.register(
    maintenanceJob({
      tables, warehouse,
      defaults: { retentionMs: config.CHAINLAKE_COMPACTOR_SNAPSHOT_RETENTION_MS, orphanAgeMs: config.CHAINLAKE_COMPACTOR_ORPHAN_AGE_MS },
      onMaintained(r) {
        if (r.dry_run) return;
        expiredSnapshots.inc({ dataset: r.dataset }, r.snapshots_expired);
        deletedFiles.inc({ dataset: r.dataset, kind: 'expired' }, r.expired_files_deleted);
        deletedFiles.inc({ dataset: r.dataset, kind: 'orphan' }, r.orphan_files_deleted);
        deletedFiles.inc({ dataset: r.dataset, kind: 'staging' }, r.staging_files_deleted);
        deletedBytes.inc({ dataset: r.dataset, kind: 'expired' }, r.expired_bytes_deleted);
        deletedBytes.inc({ dataset: r.dataset, kind: 'orphan' }, r.orphan_bytes_deleted);
      },
    }),
  );

  // A crash between a commit and its manifest.json update is repaired before anything else writes the table.
  for (const table of tables.values()) {
    try {
      const { dropped, recorded } = await table.reconcileManifest();
      if (dropped + recorded > 0) log.info({ table: table.name, dropped, recorded }, 'manifest.json brought in step with the Iceberg table');
    } catch (err) {
      log.warn({ table: table.name, err: (err as Error).message }, 'manifest.json not checked against the Iceberg table');
    }
  }

  const ranges = { hot, finalized, compacted };
  const threshold =
    config.CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS > 0
      ? startThreshold({
          ...ranges, bus, chain, datasets: datasets.map((d) => d.name),
          blocks: config.CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS,
          intervalMs: THRESHOLD_CHECK_INTERVAL_MS,
          compact: (dataset, range) => jobs.submit('hot-to-cold', { dataset, ...range }),
          onInvalid: (err) => {
            invalid.inc();
            log.warn({ err: err.message }, 'invalid stored message ignored');
          },
          onError: (err) => log.warn({ err: err.message }, 'threshold check failed'),
        })
      : undefined;
  const stopHeads = followHeads(bus, chain, finalized, {
    onAdvance: () => {
      finalizedGauge.set(finalized.value!);
      threshold?.check();
    },
    onInvalid: (err) => {
      invalid.inc();
      log.warn({ err: err.message }, 'invalid head message ignored');
    },
  });

  /** A scheduled run of `job` for every dataset: hot→cold over each one's finalized hot range. */
  const scheduled = async (job: string): Promise<void> => {
    for (const def of datasets) {
      const range = job === 'hot-to-cold' ? await pendingHotRange(ranges, def.name) : undefined;
      if (job === 'hot-to-cold' && !range) continue;
      await jobs.submit(job, { dataset: def.name, ...range });
    }
  };
  const stopSchedule = startSchedule(config.CHAINLAKE_COMPACTOR_SCHEDULE, scheduled);

  const requestServers = serveJobRequests(bus, jobs, () => invalid.inc());
  jobRoutes(ctx.http, jobs);
  // Shutdown hooks run in reverse: triggers stop, then running jobs are aborted, then their replies are sent.
  ctx.onShutdown(async () => {
    await Promise.all(requestServers.map((s) => s.stop()));
  });
  ctx.onShutdown(() => jobs.shutdown());
  ctx.onShutdown(() => {
    stopSchedule();
    threshold?.stop();
    stopHeads();
  });
  log.info(
    {
      datasets: datasets.map((d) => d.name),
      schedule: config.CHAINLAKE_COMPACTOR_SCHEDULE,
      thresholdBlocks: config.CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS,
    },
    'compactor ready for jobs',
  );
}
