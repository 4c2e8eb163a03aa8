import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { expireSnapshots, findOrphanFiles, type ExpireResult } from '@chainlake/iceberg';
import { JobInputError, type JobKind } from '@chainlake/jobs';
import type { LocalWarehouse } from '@chainlake/lake';
import type { LakeTable } from './lake-table.js';
import { booleanFlag, duration, parseParams } from './params.js';

export interface MaintenanceParams {
  dataset: string;
  retentionMs: number;
  orphanAgeMs: number;
  dryRun: boolean;
}

export interface MaintenanceResult {
  dataset: string;
  dry_run: boolean;
  snapshots_expired: number;
  /** Files only expired snapshots referenced: data files, manifests, manifest lists. */
  expired_files_deleted: number;
  expired_bytes_deleted: number;
  orphan_files_deleted: number;
  orphan_bytes_deleted: number;
  /** Files a killed writer left in the warehouse's staging folder. */
  staging_files_deleted: number;
}

export interface MaintenanceDeps {
  tables: ReadonlyMap<string, LakeTable>;
  warehouse: LocalWarehouse;
  defaults: { retentionMs: number; orphanAgeMs: number };
  onMaintained(result: MaintenanceResult): void;
}

/** Size of a file, or undefined when it is already gone. */
async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function maintenanceJob(deps: MaintenanceDeps): JobKind<MaintenanceParams, MaintenanceResult> {
  return {
    name: 'maintenance',
    parse(input) {
      const p = parseParams('maintenance', { dataset: z.string(), retention_ms: duration.optional(), orphan_age_ms: duration.optional(), dry_run: booleanFlag.optional() }, input);
      if (!deps.tables.has(p.dataset)) {
        throw new JobInputError(`maintenance: unknown dataset "${p.dataset}"; this compactor's datasets are ${[...deps.tables.keys()].join(', ')}`);
      }
      return {
        dataset: p.dataset, dryRun: p.dry_run ?? false,
        retentionMs: p.retention_ms ?? deps.defaults.retentionMs, orphanAgeMs: p.orphan_age_ms ?? deps.defaults.orphanAgeMs,
      };
    },
    key: (p) => deps.tables.get(p.dataset)!.name,
    async run(p, ctx) {
      const lake = deps.tables.get(p.dataset)!;
      const now = Date.now();
      const result: MaintenanceResult = {
        dataset: p.dataset, dry_run: p.dryRun, snapshots_expired: 0, expired_files_deleted: 0, expired_bytes_deleted: 0,
        orphan_files_deleted: 0, orphan_bytes_deleted: 0, staging_files_deleted: 0,
      };
      // The current snapshot is always kept, and every snapshot younger than the retention.
      const expiry = { olderThanMs: now - p.retentionMs, retainLast: 1 };
      let expired: ExpireResult = await expireSnapshots((await lake.load()).metadata, lake.io, expiry);
      if (!p.dryRun && expired.updates.length > 0) {
        expired = await lake.commitChange((table) => expireSnapshots(table.metadata, lake.io, expiry));
      }
      result.snapshots_expired = expired.expiredSnapshotIds.length;
      ctx.signal.throwIfAborted();

      // Deleting under the manifest lock: no writer publishes or records a file meanwhile, and a file manifest.json
      // lists is never deleted (the archiver may be about to commit it).
      await lake.withLock(async () => {
        const listed = await lake.listedPaths();
        const remove = async (location: string): Promise<number | undefined> => {
          if (listed.has(lake.relativePath(location))) return undefined;
          const path = lake.io.localPath(location);
          const bytes = await sizeOf(path);
          if (bytes !== undefined && !p.dryRun) await lake.io.delete(location);
          return bytes;
        };
        for (const location of expired.filesToDelete) {
          const bytes = await remove(location);
          if (bytes === undefined) continue;
          result.expired_files_deleted += 1;
          result.expired_bytes_deleted += bytes;
        }
        const state = await lake.load();
        const orphans = await findOrphanFiles(state.metadata, lake.io, state.metadata.location, {
          olderThanMs: now - p.orphanAgeMs,
          metadataFile: state.metadataLocation ?? undefined,
        });
        for (const orphan of orphans) {
          const bytes = await remove(orphan.location);
          if (bytes === undefined) continue;
          result.orphan_files_deleted += 1;
          result.orphan_bytes_deleted += bytes;
        }
      });
      result.staging_files_deleted = await clearOldStaging(deps.warehouse, now - p.orphanAgeMs, p.dryRun);
      deps.onMaintained(result);
      return result;
    },
  };
}

/** Deletes staged files last written before `olderThanMs` (a writer killed before publishing them). */
async function clearOldStaging(warehouse: LocalWarehouse, olderThanMs: number, dryRun: boolean): Promise<number> {
  let names: string[];
  try {
    names = await readdir(warehouse.stagingDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let deleted = 0;
  for (const name of names) {
    const path = join(warehouse.stagingDir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info || info.mtimeMs >= olderThanMs) continue;
    if (!dryRun) await rm(path, { recursive: true, force: true });
    deleted += 1;
  }
  return deleted;
}
