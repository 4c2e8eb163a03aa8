import { randomBytes } from 'node:crypto';

/** A NATS subject prefix (and PostgreSQL schema name) no other test run shares. */
export function uniquePrefix(label = 't'): string {
  return `cl_${label}_${randomBytes(4).toString('hex')}`.toLowerCase();
}

export const testNatsUrl = (): string => process.env.CHAINLAKE_NATS_URL ?? 'nats://127.0.0.1:4222';
export const testPgUrl = (): string => process.env.CHAINLAKE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
