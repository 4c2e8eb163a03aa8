import { postgresConfigShape } from '@chainlake/postgres';
import { env, type ConfigOf } from '@chainlake/service';

export type CatalogConfig = ConfigOf<typeof catalogConfigShape>;

export const catalogConfigShape = {
  ...postgresConfigShape,
  /** Root directory of the tables; a table's default location is `<warehouse>/<namespace>/<table>`. */
  CHAINLAKE_WAREHOUSE: env.string('./data/warehouse'),
  /** Flight and Flight SQL: table scans, SQL queries. */
  CHAINLAKE_FLIGHT_PORT: env.int(50055, { min: 0, max: 65535 }),
  /** DuckDB worker threads for Flight SQL; unset = the cores. */
  CHAINLAKE_SQL_THREADS: env.optionalInt(),
  /** DuckDB memory limit for Flight SQL, e.g. `1GB`; empty = DuckDB's (80% of RAM). */
  CHAINLAKE_SQL_MEMORY_LIMIT: env.string(''),
  /** A query first refreshes table views older than this (commits refresh them at once); 0 = before every query. */
  CHAINLAKE_SQL_MAX_STALENESS_MS: env.int(10_000, { min: 0 }),
  /** An unused Flight SQL prepared statement is closed after this. */
  CHAINLAKE_FLIGHT_SQL_STATEMENT_TTL_MS: env.int(600_000, { min: 1000 }),
  /** When set, every /v1 and /api request and every Flight call needs `Authorization: Bearer <token>`. */
  CHAINLAKE_AUTH_TOKEN: env.string(''),
  /** How often commit announcements that could not be published are tried again. */
  CHAINLAKE_CATALOG_ANNOUNCE_RETRY_MS: env.int(5_000, { min: 100 }),
};
