import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pg from 'pg';
import { testPgUrl, uniquePrefix } from '@chainlake/testkit';
import { blocks, evmDatasets, logs, postgresDdl, transactions } from '../src/index.js';

describe('postgresDdl', () => {
  const schema = uniquePrefix('schema');
  const client = new pg.Client({ connectionString: testPgUrl() });

  beforeAll(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA "${schema}"`);
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  it('creates every dataset table, idempotently', async () => {
    for (const def of evmDatasets) {
      await client.query(postgresDdl(def, schema));
      await client.query(postgresDdl(def, schema));
    }
    const { rows } = await client.query(
      `SELECT table_name, count(*)::int AS columns FROM information_schema.columns
       WHERE table_schema = $1 GROUP BY table_name ORDER BY table_name`,
      [schema],
    );
    expect(rows).toEqual([
      { table_name: 'blocks', columns: blocks.columns.length },
      { table_name: 'logs', columns: logs.columns.length },
      { table_name: 'transactions', columns: transactions.columns.length },
    ]);
  });

  it('maps types and nullability', async () => {
    await client.query(postgresDdl(transactions, schema, 'tx_types'));
    const { rows } = await client.query(
      `SELECT column_name, data_type, numeric_precision, is_nullable FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'tx_types' ORDER BY ordinal_position`,
      [schema],
    );
    const byName = new Map(rows.map((r) => [r.column_name, r]));
    expect(rows.map((r) => r.column_name)).toEqual(transactions.columns.map((c) => c.name));
    expect(byName.get('block_number')).toMatchObject({ data_type: 'bigint', is_nullable: 'NO' });
    expect(byName.get('block_timestamp')).toMatchObject({ data_type: 'timestamp with time zone' });
    expect(byName.get('transaction_index')).toMatchObject({ data_type: 'integer' });
    expect(byName.get('value')).toMatchObject({ data_type: 'numeric', numeric_precision: 78 });
    expect(byName.get('to_address')).toMatchObject({ data_type: 'text', is_nullable: 'YES' });
    expect(byName.get('success')).toMatchObject({ data_type: 'boolean' });
  });

  it('stores the largest uint256 exactly and enforces the sort key as primary key', async () => {
    await client.query(postgresDdl(blocks, schema, 'pk_blocks'));
    const max = (2n ** 256n - 1n).toString();
    const insert = `INSERT INTO "${schema}"."pk_blocks" VALUES (1, '0x01', '0x00', now(), '0xaa', 0, 0, '0x', $1, 1)`;
    await client.query(insert, [max]);
    const { rows } = await client.query(`SELECT base_fee_per_gas::text AS fee FROM "${schema}"."pk_blocks"`);
    expect(rows[0].fee).toBe(max);
    await expect(client.query(insert, [max])).rejects.toThrow(/duplicate key/);
  });

  it('rejects identifiers that would need escaping', () => {
    expect(() => postgresDdl(blocks, 'chainlake"; DROP TABLE x; --')).toThrow(/invalid PostgreSQL identifier/);
    expect(() => postgresDdl(blocks, 'chainlake', 'Blocks')).toThrow(/"Blocks"/);
    expect(() => postgresDdl(blocks, 'a'.repeat(64))).toThrow(/1-63 characters/);
  });

  it('quotes identifiers and declares the primary key', () => {
    expect(postgresDdl(logs, 'chainlake', 'eth_logs')).toMatch(
      /^CREATE TABLE IF NOT EXISTS "chainlake"\."eth_logs" \([\s\S]*PRIMARY KEY \("block_number", "log_index"\)\n\)$/,
    );
  });
});
