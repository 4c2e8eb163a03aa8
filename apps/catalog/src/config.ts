import { postgresConfigShape } from '@chainlake/postgres';
import { env, type ConfigOf } from '@chainlake/service';

export type CatalogConfig = ConfigOf<typeof catalogConfigShape>;

export const catalogConfigShape = {
  ...postgresConfigShape,
  /** Root directory of the tables; a table's default location is `<warehouse>/<namespace>/<table>`. */
  CHAINLAKE_WAREHOUSE: env.string('./data/warehouse'),
  /** Flight and Flight SQL: table scans, SQL queries. */
  CHAINLAKE_FLIGHT_PORT: env.int(50055, { min: 0, max: 65535 }),
  /** When set, every /v1 and /api request and every Flight call needs `Authorization: Bearer <token>`. */
  CHAINLAKE_AUTH_TOKEN: env.string(''),
  /** How often commit announcements that could not be published are tried again. */
  CHAINLAKE_CATALOG_ANNOUNCE_RETRY_MS: env.int(5_000, { min: 100 }),
};
