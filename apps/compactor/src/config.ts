import { z } from 'zod';
import { parseSchedule } from '@chainlake/jobs';
import { env, type ConfigOf } from '@chainlake/service';
import { postgresConfigShape } from '@chainlake/postgres';
import { dataset } from '@chainlake/schema';

export const JOB_NAMES = ['hot-to-cold', 'merge', 'maintenance'] as const;

export type CompactorConfig = ConfigOf<typeof compactorConfigShape>;

export const compactorConfigShape = {
  ...postgresConfigShape,
  CHAINLAKE_WAREHOUSE: env.string('./data/warehouse'),
  /** The catalog's Iceberg REST endpoint, where the compactor commits. */
  CHAINLAKE_CATALOG_URL: env.url('http://127.0.0.1:8086'),
  CHAINLAKE_AUTH_TOKEN: env.string(''),
  /** The datasets (tables) this compactor works on, comma-separated. */
  CHAINLAKE_DATASETS: env.string('blocks,transactions,logs').transform((text, ctx) => {
    try {
      return [...new Set(text.split(',').map((name) => name.trim()).filter(Boolean))].map((name) => dataset(name));
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: (err as Error).message, input: text });
      return z.NEVER;
    }
  }),
  CHAINLAKE_PARQUET_COMPRESSION: env.enumOf(['snappy', 'zstd', 'gzip', 'lz4', 'none'] as const, 'snappy'),
  /**
   * As for the archiver, but 0 (every column compressed) by default: compacted files are the ones kept, and
   * uncompressed hash columns grow the row group the writer holds (hot→cold peaked at 513 MB with 20, 491 MB with 0).
   */
  CHAINLAKE_PARQUET_MIN_SAVING_PCT: env.int(0, { min: 0, max: 100 }),
  /**
   * Smaller than the archiver's default: a Parquet writer holds a whole row group while it encodes it, and the
   * compactor writes the largest files; 65,536 rows keeps it under 512 MB while compacting a 5M-row partition.
   */
  CHAINLAKE_PARQUET_ROW_GROUP_ROWS: env.int(65_536, { min: 1 }),
  /** `<job>=<cron>;…` in UTC, e.g. `merge=*\/15 * * * *;maintenance=0 3 * * *`; empty = no schedule. */
  CHAINLAKE_COMPACTOR_SCHEDULE: env.string('').transform((text, ctx) => {
    try {
      return parseSchedule(text, JOB_NAMES);
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: (err as Error).message, input: text });
      return z.NEVER;
    }
  }),
  /** Start hot→cold for a dataset once this many finalized blocks wait in the hot tier; 0 = never by threshold. */
  CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS: env.int(1000, { min: 0 }),
  CHAINLAKE_COMPACTOR_JOB_TIMEOUT_MS: env.int(30 * 60_000, { min: 1000 }),
  /** hot→cold: rows per Parquet file. */
  CHAINLAKE_COMPACTOR_CHUNK_SIZE: env.int(1_000_000, { min: 1 }),
  /** hot→cold: delete the compacted rows from the hot tier after the commit. */
  CHAINLAKE_COMPACTOR_DELETE_AFTER_COMPACT: env.bool(true),
  /** merge: a partition is merged when it has at least this many files smaller than the max file size. */
  CHAINLAKE_COMPACTOR_MIN_FILE_COUNT: env.int(4, { min: 2 }),
  CHAINLAKE_COMPACTOR_MAX_FILE_SIZE: env.int(64 * 1024 * 1024, { min: 1 }),
  CHAINLAKE_COMPACTOR_TARGET_FILE_SIZE: env.int(256 * 1024 * 1024, { min: 1 }),
  /** maintenance: snapshots older than this are expired (the current one never is). */
  CHAINLAKE_COMPACTOR_SNAPSHOT_RETENTION_MS: env.int(7 * 24 * 3_600_000, { min: 0 }),
  /** maintenance: an unreferenced file is deleted only once it is this old (a writer may be about to commit it). */
  CHAINLAKE_COMPACTOR_ORPHAN_AGE_MS: env.int(24 * 3_600_000, { min: 0 }),
};
