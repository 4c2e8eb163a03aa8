import { z } from 'zod';
import { RecordBatch, util, type Schema } from 'apache-arrow';
import { JobInputError, type JobKind } from '@chainlake/jobs';
import { readParquet, writeParquet, type LocalWarehouse, type ParquetWriteOptions } from '@chainlake/lake';
import { dataFileName, newWriteId } from '@chainlake/partitioning';
import { arrowSchema } from '@chainlake/schema';
import type { LakeTable, LiveFile, OutputFile } from './lake-table.js';
import { booleanFlag, parseParams, positiveCount } from './params.js';

export interface MergeParams {
  dataset: string;
  dryRun: boolean;
  minFileCount: number;
  maxFileSize: number;
  targetFileSize: number;
}

export interface MergeOptions {
  minFileCount: number;
  maxFileSize: number;
  targetFileSize: number;
}

/** One partition's part of a merge: the small files and the groups they become (one output file per group). */
export interface PartitionMerge {
  partition: string;
  groups: LiveFile[][];
}

export interface MergeResult {
  dataset: string;
  dry_run: boolean;
  partitions: number;
  files_before: number;
  bytes_before: number;
  files_after: number;
  /** Estimated (the inputs' size) in a dry run. */
  bytes_after: number;
  snapshot_id: number | null;
  plan: Array<{ partition: string; files_before: number; bytes_before: number; files_after: number }>;
}

export interface MergeDeps {
  tables: ReadonlyMap<string, LakeTable>;
  warehouse: LocalWarehouse;
  parquet: ParquetWriteOptions;
  defaults: MergeOptions;
  onMerged(result: MergeResult): void;
}

const size = (f: LiveFile): number => f.dataFile.fileSizeInBytes;

/**
 * The merge plan: in every partition with at least `minFileCount` files smaller than `maxFileSize`, runs of such
 * files whose block ranges follow each other without a gap are grouped, in block order, into groups of about
 * `targetFileSize` bytes; a group of one file is left alone. A larger file or a gap between ranges ends a run, so a
 * merged file's block range (first start to last end) overlaps no other file and claims no block it lacks.
 */
export function planMerge(live: readonly LiveFile[], options: MergeOptions): PartitionMerge[] {
  const byPartition = new Map<string, LiveFile[]>();
  for (const f of live) byPartition.set(f.partitionPath, [...(byPartition.get(f.partitionPath) ?? []), f]);
  const plan: PartitionMerge[] = [];
  for (const [partition, files] of [...byPartition].sort(([, a], [, b]) => a[0].start - b[0].start)) {
    const small = (f: LiveFile) => size(f) < options.maxFileSize;
    if (files.filter(small).length < options.minFileCount) continue;
    const groups: LiveFile[][] = [];
    let group: LiveFile[] = [];
    let bytes = 0;
    const close = () => {
      if (group.length >= 2) groups.push(group);
      group = [];
      bytes = 0;
    };
    for (const f of [...files].sort((a, b) => a.start - b.start)) {
      const previous = group[group.length - 1];
      if (!small(f) || (previous && f.start !== previous.end + 1) || (group.length > 0 && bytes + size(f) > options.targetFileSize)) close();
      if (!small(f)) continue;
      group.push(f);
      bytes += size(f);
    }
    close();
    if (groups.length > 0) plan.push({ partition, groups });
  }
  return plan;
}

export function mergeJob(deps: MergeDeps): JobKind<MergeParams, MergeResult> {
  return {
    name: 'merge',
    parse(input) {
      const p = parseParams(
        'merge',
        {
          dataset: z.string(), dry_run: booleanFlag.optional(), min_file_count: positiveCount.optional(),
          max_file_size: positiveCount.optional(), target_file_size: positiveCount.optional(),
        },
        input,
      );
      if (!deps.tables.has(p.dataset)) throw new JobInputError(`merge: unknown dataset "${p.dataset}"; this compactor's datasets are ${[...deps.tables.keys()].join(', ')}`);
      const minFileCount = p.min_file_count ?? deps.defaults.minFileCount;
      if (minFileCount < 2) throw new JobInputError(`merge: min_file_count must be at least 2, got ${minFileCount}`);
      return {
        dataset: p.dataset, dryRun: p.dry_run ?? false, minFileCount,
        maxFileSize: p.max_file_size ?? deps.defaults.maxFileSize, targetFileSize: p.target_file_size ?? deps.defaults.targetFileSize,
      };
    },
    key: (p) => deps.tables.get(p.dataset)!.name,
    async run(p, ctx) {
      const lake = deps.tables.get(p.dataset)!;
      const state = await lake.load();
      const plan = planMerge(await lake.liveFiles(state.metadata), p);
      const inputs = plan.flatMap((m) => m.groups.flat());
      const result: MergeResult = {
        dataset: p.dataset, dry_run: p.dryRun, partitions: plan.length,
        files_before: inputs.length, bytes_before: inputs.reduce((sum, f) => sum + size(f), 0),
        files_after: plan.reduce((sum, m) => sum + m.groups.length, 0), bytes_after: 0, snapshot_id: null,
        plan: plan.map((m) => ({
          partition: m.partition, files_before: m.groups.flat().length, bytes_before: m.groups.flat().reduce((s, f) => s + size(f), 0), files_after: m.groups.length,
        })),
      };
      if (p.dryRun || plan.length === 0) {
        result.bytes_after = p.dryRun ? result.bytes_before : 0;
        return result;
      }
      const outputs = await writeMerged(deps, lake, plan, ctx);
      const wanted = new Set(inputs.map((f) => f.rel));
      const committed = await lake.commit(state, {
        outputs,
        operation: 'replace',
        remove: (live) => {
          const found = live.filter((f) => wanted.has(f.rel));
          if (found.length !== wanted.size) throw new Error(`merge: ${wanted.size - found.length} of the files to merge were removed while the job ran; nothing changed, run it again`);
          return found;
        },
        summary: { 'chainlake.job': 'merge' },
      });
      result.bytes_after = outputs.reduce((sum, o) => sum + o.written.bytes, 0);
      result.snapshot_id = committed.snapshotId ?? null;
      deps.onMerged(result);
      return result;
    },
  };
}

/**
 * The batch under the dataset's schema (with its field ids), as Parquet reads it back with generic Arrow types
 * (Int_ for Int64); refused when its columns differ.
 */
function asTableSchema(batch: RecordBatch, schema: Schema, file: string): RecordBatch {
  const columns = (s: Schema) => s.fields.map(String).join(', ');
  const [have, want] = [columns(batch.schema), columns(schema)];
  if (!util.compareSchemas(batch.schema, schema)) throw new Error(`merge: ${file} has columns (${have}), the table (${want})`);
  return new RecordBatch(schema, batch.data);
}

/** One output file per group: the group's files read row group by row group, in block order, into staging. */
async function writeMerged(
  deps: MergeDeps,
  lake: LakeTable,
  plan: readonly PartitionMerge[],
  ctx: { signal: AbortSignal; progress(counters: Record<string, number>): void },
): Promise<OutputFile[]> {
  const schema = arrowSchema(lake.def);
  const writeId = newWriteId();
  const progress = { input_files: 0, output_files: 0, bytes_read: 0 };
  const jobs = plan.flatMap((m) => m.groups.map((group, n) => ({ partition: m.partition, group, n })));
  const outputs: OutputFile[] = [];
  const staged: string[] = [];
  try {
    // One output at a time: a Parquet writer's memory grows with what it encodes at once, and this bounds it.
    for (const { partition, group, n } of jobs) {
      const start = group[0].start;
      const end = group[group.length - 1].end;
      const name = dataFileName({ table: lake.def.name, start, end, n, writeId });
      const staging = await deps.warehouse.stagingPath(name);
      staged.push(staging);
      async function* rows(): AsyncGenerator<RecordBatch> {
        for (const file of group) {
          ctx.signal.throwIfAborted();
          for await (const batch of readParquet(file.path)) yield asTableSchema(batch, schema, file.rel);
          progress.input_files += 1;
          progress.bytes_read += size(file);
          ctx.progress(progress);
        }
      }
      const written = await writeParquet(staging, schema, rows(), deps.parquet);
      const expected = group.reduce((sum, f) => sum + f.dataFile.recordCount, 0);
      if (written.rows !== expected) throw new Error(`merge: ${name} got ${written.rows} rows, its ${group.length} input files hold ${expected}`);
      progress.output_files += 1;
      ctx.progress(progress);
      outputs.push({ staging, partitionPath: partition, name, start, end, writeId, written, partition: group[0].dataFile.partition });
    }
    return outputs;
  } catch (err) {
    await Promise.all(staged.map((s) => lake.io.delete(s)));
    throw err;
  }
}
