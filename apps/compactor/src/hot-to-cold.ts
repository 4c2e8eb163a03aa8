import { z } from 'zod';
import type { RecordBatch } from 'apache-arrow';
import type { HotStore } from '@chainlake/hot';
import { partitionValues } from '@chainlake/iceberg';
import { JobInputError, type JobKind } from '@chainlake/jobs';
import { writeParquet, type LocalWarehouse, type ParquetWriteOptions, type WrittenFile } from '@chainlake/lake';
import { blockRangePartition, dataFileName, newWriteId } from '@chainlake/partitioning';
import { arrowSchema } from '@chainlake/schema';
import { BlockFileCutter, type CutFile } from './block-files.js';
import type { FinalizedHeight } from './finality.js';
import type { LakeTable, LiveFile, OutputFile, TableState } from './lake-table.js';
import { blockNumber, booleanFlag, parseParams, positiveCount } from './params.js';

export interface HotToColdParams {
  dataset: string;
  from: number;
  to: number;
  chunkSize: number;
  deleteAfterCompact: boolean;
}

export interface HotToColdResult {
  dataset: string;
  from: number;
  to: number;
  /** The blocks written: [from, to] without its ends that files already in the table hold (they stay as they are). */
  written: { from: number; to: number } | null;
  rows: number;
  files: number;
  bytes: number;
  replaced_files: number;
  snapshot_id: number | null;
  hot_rows_deleted: number;
}

export interface HotToColdDeps {
  chain: string;
  tables: ReadonlyMap<string, LakeTable>;
  hot: HotStore;
  finalized: FinalizedHeight;
  warehouse: LocalWarehouse;
  parquet: ParquetWriteOptions;
  defaults: { chunkSize: number; deleteAfterCompact: boolean };
  /** Rows in a batch read from the hot tier. */
  batchRows: number;
  /** Called after every completed job (metrics, announcements, the threshold's checkpoint). */
  onCompacted(result: HotToColdResult): Promise<void>;
}

/**
 * [from, to] without the blocks at either end that a live file reaching outside the range already holds: those
 * files stay, so the files written never overlap them. Null when files already hold every block of the range.
 */
export function trimToCold(live: readonly LiveFile[], from: number, to: number): { from: number; to: number } | null {
  let lo = from;
  let hi = to;
  for (let changed = true; changed && lo <= hi; ) {
    changed = false;
    for (const f of live) {
      if (f.end < lo || f.start > hi || (f.start >= lo && f.end <= hi)) continue;
      if (f.start < lo) lo = f.end + 1;
      else hi = f.start - 1;
      changed = true;
    }
  }
  return lo <= hi ? { from: lo, to: hi } : null;
}

/** The live files wholly inside [from, to]: the ones a hot→cold run of that range replaces. */
const filesInside = (live: readonly LiveFile[], range: { from: number; to: number }): LiveFile[] =>
  live.filter((f) => f.start >= range.from && f.end <= range.to);

export function hotToColdJob(deps: HotToColdDeps): JobKind<HotToColdParams, HotToColdResult> {
  const table = (dataset: string) => deps.tables.get(dataset)!;
  return {
    name: 'hot-to-cold',
    parse(input) {
      const p = parseParams(
        'hot-to-cold',
        { dataset: z.string(), from: blockNumber, to: blockNumber, chunk_size: positiveCount.optional(), delete_after_compact: booleanFlag.optional() },
        input,
      );
      if (!deps.tables.has(p.dataset)) {
        throw new JobInputError(`hot-to-cold: unknown dataset "${p.dataset}"; this compactor's datasets are ${[...deps.tables.keys()].join(', ')}`);
      }
      if (p.from > p.to) throw new JobInputError(`hot-to-cold: inverted block range: from ${p.from} is above to ${p.to}`);
      const finalized = deps.finalized.value;
      if (finalized === undefined) {
        throw new JobInputError(`hot-to-cold: the finalized height of chain ${deps.chain} is not known yet (no head message since the compactor started); try again shortly`);
      }
      if (p.to > finalized) {
        throw new JobInputError(
          `hot-to-cold: blocks ${Math.max(p.from, finalized + 1)}-${p.to} are not final (finalized height ${finalized}); only final blocks go to cold storage`,
        );
      }
      return {
        dataset: p.dataset, from: p.from, to: p.to,
        chunkSize: p.chunk_size ?? deps.defaults.chunkSize,
        deleteAfterCompact: p.delete_after_compact ?? deps.defaults.deleteAfterCompact,
      };
    },
    key: (p) => table(p.dataset).name,
    async run(p, ctx) {
      const lake = table(p.dataset);
      const state = await lake.load();
      if (state.blockWidth === undefined) {
        const spec = state.spec.fields.map((f) => `${f.transform}(${f.name})`).join(', ') || 'nothing';
        throw new Error(`hot-to-cold writes block-range partitions, but ${lake.name} is partitioned by ${spec}`);
      }
      const result: HotToColdResult = {
        dataset: p.dataset, from: p.from, to: p.to, written: null, rows: 0, files: 0, bytes: 0, replaced_files: 0, snapshot_id: null, hot_rows_deleted: 0,
      };
      const range = trimToCold(await lake.liveFiles(state.metadata), p.from, p.to);
      if (range) {
        const heights = await deps.hot.heights(p.dataset);
        const held = heights && { from: Math.max(range.from, heights.min), to: Math.min(range.to, heights.max) };
        if (!held || held.from > held.to) {
          throw new JobInputError(
            `hot-to-cold: the hot tier holds no rows of ${p.dataset} in blocks ${range.from}-${range.to} (it holds ${heights ? `${heights.min}-${heights.max}` : 'none'}): nothing to compact, nothing changed`,
          );
        }
        /** Files to replace, refusing any whose rows the hot tier no longer has (compacting would lose them). */
        const replaced = (live: readonly LiveFile[]): LiveFile[] => {
          const now = trimToCold(live, p.from, p.to);
          if (!now || now.from !== range.from || now.to !== range.to) {
            throw new Error(`hot-to-cold: files at the edges of blocks ${p.from}-${p.to} changed while the job ran; nothing changed, run it again`);
          }
          const inside = filesInside(live, range);
          for (const f of inside) {
            const rows = lake.rowBlocks(f);
            if (rows.min < held.from || rows.max > held.to) {
              throw new JobInputError(
                `hot-to-cold: ${f.rel} holds blocks ${rows.min}-${rows.max}, but the hot tier has only ${held.from}-${held.to} of blocks ${range.from}-${range.to}: replacing it would lose rows; nothing changed`,
              );
            }
          }
          return inside;
        };
        replaced(await lake.liveFiles(state.metadata));

        const outputs = await writeRangeFiles(deps, lake, state, p, range, ctx);
        const committed = await lake.commit(state, {
          outputs,
          operation: 'overwrite',
          remove: replaced,
          summary: { 'chainlake.job': 'hot-to-cold', 'chainlake.block-range': `${range.from}-${range.to}` },
        });
        Object.assign(result, {
          written: range,
          rows: outputs.reduce((sum, o) => sum + o.written.rows, 0),
          files: outputs.length,
          bytes: outputs.reduce((sum, o) => sum + o.written.bytes, 0),
          replaced_files: committed.removed.length,
          snapshot_id: committed.snapshotId ?? null,
        });
      }
      // After the commit: a crash before this point leaves the hot rows, and a re-run replaces what was committed.
      if (p.deleteAfterCompact) result.hot_rows_deleted = await deps.hot.deleteRange(p.dataset, p.from, p.to);
      await deps.onCompacted(result);
      return result;
    },
  };
}

/**
 * Streams the hot rows of `range` into staged Parquet files of at most `chunkSize` rows, cut between blocks and at
 * partition boundaries, named by the block range each covers: together the files cover every block of the range.
 * On failure the staged files are deleted; nothing is published.
 */
async function writeRangeFiles(
  deps: HotToColdDeps,
  lake: LakeTable,
  state: TableState,
  p: HotToColdParams,
  range: { from: number; to: number },
  ctx: { signal: AbortSignal; progress(counters: Record<string, number>): void },
): Promise<OutputFile[]> {
  const width = state.blockWidth!;
  const schema = arrowSchema(lake.def);
  const writeId = newWriteId();
  const rows: AsyncIterable<RecordBatch> = deps.hot.readRange(p.dataset, range.from, range.to, deps.batchRows);
  const cutter = new BlockFileCutter(rows, {
    blockColumn: lake.def.blockColumn,
    maxRows: p.chunkSize,
    partitionEnd: (block) => blockRangePartition(block, width).end,
    signal: ctx.signal,
  });
  // One file at a time: a Parquet writer's memory grows with what it encodes at once, and this bounds it.
  const staged: Array<{ cut: CutFile; staging: string; written: WrittenFile }> = [];
  const progress = { rows: 0, files: 0 };
  try {
    while ((await cutter.nextBlock()) !== undefined) {
      ctx.signal.throwIfAborted();
      const cut: CutFile = { first: 0, last: 0, rows: 0 };
      const staging = await deps.warehouse.stagingPath(`${lake.def.name}_${writeId}_${staged.length}.parquet`);
      staged.push({ cut, staging, written: await writeParquet(staging, schema, cutter.nextFile(cut), deps.parquet) });
      progress.rows += cut.rows;
      progress.files += 1;
      ctx.progress(progress);
    }
    return staged.map((s, i): OutputFile => {
      const partition = blockRangePartition(s.cut.first, width);
      const previous = staged[i - 1];
      const next = staged[i + 1];
      const samePartition = (other: typeof s | undefined) => other !== undefined && blockRangePartition(other.cut.first, width).start === partition.start;
      const n = staged.slice(0, i).filter((o) => samePartition(o)).length;
      const start = samePartition(previous) ? s.cut.first : Math.max(range.from, partition.start);
      const end = samePartition(next) ? next!.cut.first - 1 : Math.min(range.to, partition.end);
      return {
        staging: s.staging, partitionPath: partition.path, start, end, writeId, written: s.written,
        name: dataFileName({ table: lake.def.name, start, end, n, writeId }),
        partition: partitionValues(state.spec, state.schema, { [lake.def.blockColumn]: BigInt(partition.start) }),
      };
    });
  } catch (err) {
    await cutter.close().catch(() => undefined);
    // A failed write leaves no file; the ones written before it are deleted.
    await Promise.all(staged.map((s) => lake.io.delete(s.staging)));
    throw err;
  }
}
