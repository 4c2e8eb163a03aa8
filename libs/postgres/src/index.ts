export { type Pool, type PoolClient, type PostgresOptions, type PostgresHost, connectPostgres, inTransaction, joinPostgres, redact } from './connect.js';
export { postgresConfigShape } from './config.js';
