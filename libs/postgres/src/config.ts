import { env } from '@chainlake/service';

/** The variables of a service that uses PostgreSQL. */
export const postgresConfigShape = {
  CHAINLAKE_POSTGRES_URL: env.url('postgres://postgres@127.0.0.1:5432/postgres'),
  /** Schema holding the catalog and the hot tables; test runs use their own. */
  CHAINLAKE_POSTGRES_SCHEMA: env.string('chainlake', { pattern: /^[a-z_][a-z0-9_]{0,62}$/ }),
};
