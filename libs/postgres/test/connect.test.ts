import { afterEach, describe, expect, it } from 'vitest';
import { testPgUrl, uniquePrefix } from '@chainlake/testkit';
import { connectPostgres, inTransaction, redact, type Pool } from '../src/index.js';

const pools: Pool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) {
    await pool.query(`DROP SCHEMA IF EXISTS ${(await pool.query('SELECT current_schema() AS s')).rows[0].s} CASCADE`);
    await pool.end();
  }
});

async function pool(): Promise<Pool> {
  const p = await connectPostgres({ url: testPgUrl(), schema: uniquePrefix('pg') });
  pools.push(p);
  return p;
}

describe('connectPostgres', () => {
  it('creates the schema and puts it on the search path', async () => {
    const p = await pool();
    await p.query('CREATE TABLE t (n bigint, v numeric(78,0))');
    await p.query('INSERT INTO t VALUES ($1, $2)', ['9007199254740993', '115792089237316195423570985008687907853269984665640564039457584007913129639935']);
    const { rows } = await p.query('SELECT n, v FROM t');
    expect(rows[0]).toEqual({ n: '9007199254740993', v: '115792089237316195423570985008687907853269984665640564039457584007913129639935' });
  });

  it('names the server when it cannot connect, without the password', async () => {
    await expect(connectPostgres({ url: 'postgres://u:secret@127.0.0.1:1/x', schema: 's' })).rejects.toThrow(/127\.0\.0\.1:1.*ECONNREFUSED|ECONNREFUSED/);
    expect(redact('postgres://u:secret@h:5/x')).toBe('postgres://u:***@h:5/x');
  });

  it('rejects a schema that is not a plain identifier', async () => {
    await expect(connectPostgres({ url: testPgUrl(), schema: 'x; DROP' })).rejects.toThrow(/invalid PostgreSQL identifier/);
  });
});

describe('inTransaction', () => {
  it('rolls back when the function throws', async () => {
    const p = await pool();
    await p.query('CREATE TABLE t (n int)');
    await expect(
      inTransaction(p, async (c) => {
        await c.query('INSERT INTO t VALUES (1)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await inTransaction(p, (c) => c.query('INSERT INTO t VALUES (2)'));
    expect((await p.query('SELECT n FROM t')).rows).toEqual([{ n: 2 }]);
  });
});
