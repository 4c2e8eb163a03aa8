import { postgresConfigShape } from '@chainlake/postgres';
import { env, type ConfigOf } from '@chainlake/service';

export type ArchiverConfig = ConfigOf<typeof archiverConfigShape>;

export const archiverConfigShape = {
  CHAINLAKE_WAREHOUSE: env.string('./data/warehouse'),
  CHAINLAKE_PARTITION: env.string('block_range:10000'),
  CHAINLAKE_PARQUET_COMPRESSION: env.enumOf(['snappy', 'zstd', 'gzip', 'lz4', 'none'] as const, 'snappy'),
  /** Columns the codec shrinks by less than this share (%) on a sample of a file's first rows are stored uncompressed; 0: all compressed. */
  CHAINLAKE_PARQUET_MIN_SAVING_PCT: env.int(20, { min: 0, max: 100 }),
  CHAINLAKE_PARQUET_ROW_GROUP_ROWS: env.int(122_880, { min: 1 }),
  CHAINLAKE_PARQUET_ROWS_PER_FILE: env.int(1_000_000, { min: 1 }),
  CHAINLAKE_ARCHIVER_FLUSH_ROWS: env.int(250_000, { min: 1 }),
  CHAINLAKE_ARCHIVER_FLUSH_INTERVAL_MS: env.int(5000, { min: 10 }),
  CHAINLAKE_ARCHIVER_CONCURRENCY: env.int(4, { min: 1, max: 64 }),
  /** Memory kept for fetched segments until they are flushed, reused from flush to flush; past it, plain allocations. */
  CHAINLAKE_ARCHIVER_ARENA_MB: env.int(512, { min: 0 }),
  CHAINLAKE_ACK_WAIT_MS: env.int(60_000, { min: 1000 }),
  CHAINLAKE_DATASETS: env.string('blocks,transactions,logs'),
  /** The catalog's Iceberg REST endpoint; every flush is committed there as an append. `none`: Parquet and manifest.json only. */
  CHAINLAKE_CATALOG_URL: env.string('http://127.0.0.1:8086', { pattern: /^(none|https?:\/\/\S+)$/ }),
  /** Bearer token for the catalog, when it requires one. */
  CHAINLAKE_AUTH_TOKEN: env.string(''),
  /** Blocks above the finalized height go to PostgreSQL hot tables; off: every block goes to Parquet. */
  CHAINLAKE_ARCHIVER_HOT_TIER: env.bool(true),
  ...postgresConfigShape,
};
