import pg from 'pg';
import { quoteIdent } from '@chainlake/schema';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PostgresOptions {
  url: string;
  /** Every connection's search_path; created if missing. */
  schema: string;
  /** Pool size. */
  max?: number;
  applicationName?: string;
}

interface PostgresLog {
  warn(obj: object, msg: string): void;
}

/**
 * A pool whose connections all use `schema` (created if missing). int8 and numeric come back as strings, never
 * as lossy numbers.
 */
export async function connectPostgres(options: PostgresOptions): Promise<Pool> {
  const schema = quoteIdent(options.schema);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'chainlake',
    options: `-c search_path=${schema}`,
  });
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (err) {
    await pool.end();
    throw new Error(`PostgreSQL at ${redact(options.url)}: ${(err as Error).message}`, { cause: err });
  }
  return pool;
}

/** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}

/** What joinPostgres needs of a service (the ServiceContext of @chainlake/service fits). */
export interface PostgresHost {
  name: string;
  config: { CHAINLAKE_POSTGRES_URL: string; CHAINLAKE_POSTGRES_SCHEMA: string };
  log: PostgresLog;
  onShutdown(fn: () => Promise<void>): void;
  readiness(name: string, check: () => Promise<boolean>): void;
}

/** The pool as a service uses it: connected from its config, part of /readyz, closed on shutdown. */
export async function joinPostgres(host: PostgresHost): Promise<Pool> {
  const pool = await connectPostgres({
    url: host.config.CHAINLAKE_POSTGRES_URL,
    schema: host.config.CHAINLAKE_POSTGRES_SCHEMA,
    applicationName: `chainlake-${host.name}`,
  });
  pool.on('error', (err) => host.log.warn({ err }, 'idle PostgreSQL connection failed'));
  host.onShutdown(() => pool.end());
  host.readiness('postgres', async () => {
    await pool.query('SELECT 1');
    return true;
  });
  return pool;
}
