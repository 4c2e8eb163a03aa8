import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  coveredRanges, parquetRowCount, sha256File, writeParquet,
  type LocalWarehouse, type ManifestFile, type ManifestStore, type ParquetWriteOptions, type TableManifest,
} from '@chainlake/lake';
import {
  blockRangePartition, dataFileName, datePartition, newWriteId, parseDataFileName, type PartitionScheme,
} from '@chainlake/partitioning';
import type { Table } from 'apache-arrow';
import type { IcebergTable, PublishedFile } from './iceberg.js';
import { mergeRanges, subtractRanges, type Range } from './ranges.js';

/** One typed segment's rows of one dataset, sorted by block number. */
export interface SegmentRows { from: number; to: number; table: Table; blockTimestamps: ReadonlyMap<number, bigint> }

export interface ArchiveTarget {
  warehouse: LocalWarehouse;
  manifests: ManifestStore;
  namespace: string;
  table: string;
  scheme: PartitionScheme;
  parquet: ParquetWriteOptions;
  /** A run with more rows is cut into several files, between blocks. */
  maxRowsPerFile: number;
  /** When set, every flush is also committed to this Iceberg table before the manifest records it. */
  iceberg?: IcebergTable;
}

export interface Part { path: string; start: number; end: number; slices: Table[] }

/**
 * Writes the rows of the given segments that no existing file covers, one Parquet file per
 * contiguous run of blocks per partition (several, numbered, past `maxRowsPerFile`), commits them to the Iceberg table
 * and records them in the manifest — all under the table's lock, so a redelivered or overlapping segment never yields
 * a row twice. A failed commit leaves the files unlisted: the next flush adopts them and commits them then.
 */
export async function archiveSegments(target: ArchiveTarget, segments: readonly SegmentRows[]): Promise<ManifestFile[]> {
  const { warehouse, manifests, namespace, table } = target;
  const written: ManifestFile[] = [];
  await manifests.update(namespace, table, async (manifest) => {
    const partitionOf = partitioner(target.scheme, segments);
    const touched = new Set<string>();
    for (const seg of segments) for (let b = seg.from; b <= seg.to; b++) touched.add(partitionOf(b));
    const adopted = await adoptUnlisted(target, manifest, touched);
    let covered: Range[] = coveredRanges({ ...manifest, files: [...manifest.files, ...adopted] });

    const parts: Part[] = [];
    for (const seg of [...segments].sort((a, b) => a.from - b.from)) {
      for (const piece of subtractRanges({ start: seg.from, end: seg.to }, covered)) {
        for (let b = piece.start; b <= piece.end; b++) {
          const path = partitionOf(b);
          const last = parts[parts.length - 1];
          if (last && last.path === path && last.end === b - 1) last.end = b;
          else parts.push({ path, start: b, end: b, slices: [] });
        }
        for (const part of parts) {
          if (part.end < piece.start || part.start > piece.end) continue;
          const slice = rowsInBlockRange(seg.table, Math.max(part.start, piece.start), Math.min(part.end, piece.end));
          if (slice.numRows > 0) part.slices.push(slice);
        }
      }
      covered = mergeRanges([...covered, { start: seg.from, end: seg.to }]);
    }

    const writeId = newWriteId();
    // Parts are written concurrently: lake's writer pool encodes different files on different cores.
    const files = await Promise.all(
      parts.flatMap((part) => splitByRows(part, target.maxRowsPerFile)).map(async ({ part, n }): Promise<ManifestFile> => {
        const name = dataFileName({ table, start: part.start, end: part.end, n, writeId });
        const staging = await warehouse.stagingPath(name);
        const file = await writeParquet(staging, part.slices[0].schema, part.slices.flatMap((s) => s.batches), target.parquet);
        await warehouse.publish(staging, warehouse.dataPath(namespace, table, part.path, name));
        return {
          path: join('data', part.path, name), partition: part.path, start: part.start, end: part.end,
          rows: file.rows, bytes: file.bytes, sha256: file.sha256, writeId, addedAt: new Date().toISOString(),
        };
      }),
    );
    await target.iceberg?.append(published(target, [...adopted, ...files]), { skipCommitted: adopted.length > 0 });
    written.push(...files);
    return { ...manifest, files: [...manifest.files, ...adopted, ...written], updatedAt: new Date().toISOString() };
  });
  return written;
}

/**
 * The files of one part: all of it, or pieces of at most `maxRows` rows cut only between blocks
 * (a block's rows always stay in one file), together covering exactly the part's block range.
 */
export function splitByRows(part: Part, maxRows: number): Array<{ part: Part; n: number }> {
  const total = part.slices.reduce((sum, s) => sum + s.numRows, 0);
  if (total === 0) return [];
  if (total <= maxRows) return [{ part, n: 0 }];
  const files: Part[] = [];
  let current: Part = { path: part.path, start: part.start, end: part.end, slices: [] };
  let rows = 0;
  for (const slice of part.slices) {
    const blocks = slice.getChild('block_number')!;
    let from = 0;
    for (let i = 0; i < slice.numRows; ) {
      const block = Number(blocks.get(i));
      let next = i + 1;
      while (next < slice.numRows && Number(blocks.get(next)) === block) next++;
      if (rows > 0 && rows + (next - i) > maxRows) {
        if (i > from) current.slices.push(slice.slice(from, i));
        files.push({ ...current, end: block - 1 });
        current = { path: part.path, start: block, end: part.end, slices: [] };
        rows = 0;
        from = i;
      }
      rows += next - i;
      i = next;
    }
    if (slice.numRows > from) current.slices.push(slice.slice(from));
  }
  files.push(current);
  return files.map((file, n) => ({ part: file, n }));
}

/**
 * Files a crashed writer published but never recorded: complete (they were renamed into place
 * only after being written and synced), so they are recorded rather than written again.
 */
async function adoptUnlisted(target: ArchiveTarget, manifest: TableManifest, partitions: Iterable<string>): Promise<ManifestFile[]> {
  const listed = new Set(manifest.files.map((f) => f.path));
  const tableDir = target.warehouse.tableDir(target.namespace, target.table);
  const unlisted: Array<{ path: string; partition: string; name: string }> = [];
  for (const partition of partitions) {
    const names = await readdir(join(tableDir, 'data', partition)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    for (const name of names) {
      const path = join('data', partition, name);
      if (!listed.has(path) && name.endsWith('.parquet')) unlisted.push({ path, partition, name });
    }
  }
  // Files the compactor replaced stay on disk (for time travel) until its maintenance deletes them: never adopted.
  const retired = unlisted.length > 0 && target.iceberg ? await target.iceberg.retiredPaths() : new Set<string>();
  const adopted: ManifestFile[] = [];
  for (const { path, partition, name } of unlisted) {
    const full = join(tableDir, path);
    if (retired.has(pathToFileURL(full).href)) continue;
    const parsed = parseDataFileName(name);
    adopted.push({
      path, partition, start: parsed.start, end: parsed.end, rows: await parquetRowCount(full),
      bytes: (await stat(full)).size, sha256: await sha256File(full), writeId: parsed.writeId, addedAt: new Date().toISOString(),
    });
  }
  return adopted;
}

/**
 * Run at start: records every file of the table that the manifest does not list, and commits to the Iceberg
 * table every listed file it lacks (a crash between commit and manifest, or a warehouse older than its table).
 */
export async function reconcileTable(target: ArchiveTarget): Promise<{ adopted: number; committed: number }> {
  const counts = { adopted: 0, committed: 0 };
  await target.manifests.update(target.namespace, target.table, async (manifest) => {
    const partitions = new Set<string>();
    for (const rel of await target.warehouse.listDataFiles(target.namespace, target.table)) {
      const parts = rel.split('/');
      partitions.add(parts.slice(1, -1).join('/'));
    }
    const adopted = await adoptUnlisted(target, manifest, partitions);
    counts.adopted = adopted.length;
    const all = [...manifest.files, ...adopted];
    counts.committed = (await target.iceberg?.append(published(target, all), { skipCommitted: true })) ?? 0;
    return adopted.length === 0 ? manifest : { ...manifest, files: all, updatedAt: new Date().toISOString() };
  });
  return counts;
}

function published(target: ArchiveTarget, files: readonly ManifestFile[]): PublishedFile[] {
  const tableDir = target.warehouse.tableDir(target.namespace, target.table);
  return files.map((f) => ({ fullPath: join(tableDir, f.path), partition: f.partition, start: f.start, end: f.end }));
}

function partitioner(scheme: PartitionScheme, segments: readonly SegmentRows[]): (block: number) => string {
  if (scheme.kind === 'block_range') return (block) => blockRangePartition(block, scheme.size).path;
  return (block) => {
    for (const seg of segments) {
      const ts = seg.blockTimestamps.get(block);
      if (ts !== undefined) return datePartition(ts);
    }
    throw new Error(`no timestamp known for block ${block}: cannot place it in a date partition`);
  };
}

/**
 * block number → block timestamp (µs) of a segment, from its blocks dataset. Read from the
 * column's buffers: Arrow's `get` turns timestamps into milliseconds.
 */
export function blockTimestamps(blocks: Table | undefined): Map<number, bigint> {
  const out = new Map<number, bigint>();
  if (!blocks) return out;
  const numbers = blocks.getChild('block_number')!;
  let row = 0;
  for (const data of blocks.getChild('timestamp')!.data) {
    const micros = data.values as BigInt64Array;
    // Arrow JS slices value buffers: element i is row i of this chunk, whatever its offset.
    for (let i = 0; i < data.length; i++, row++) out.set(Number(numbers.get(row)), micros[i]);
  }
  return out;
}

/** Zero-copy slice of the rows whose block_number is in [start, end]; the table is sorted by it. */
export function rowsInBlockRange(table: Table, start: number, end: number): Table {
  const blocks = table.getChild('block_number');
  if (!blocks) throw new Error('table has no block_number column');
  const at = (i: number): number => Number(blocks.get(i));
  const lowerBound = (value: number): number => {
    let lo = 0;
    let hi = table.numRows;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (at(mid) < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return table.slice(lowerBound(start), lowerBound(end + 1));
}
