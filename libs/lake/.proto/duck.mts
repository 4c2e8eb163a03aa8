import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const c = await db.connect();
await c.run(`CREATE TABLE t AS SELECT * FROM read_parquet('/tmp/proto.parquet')`);
for (let i = 0; i < 2; i++) {
  const t = performance.now();
  await c.run(`COPY (SELECT * FROM t) TO '/tmp/duck.parquet' (FORMAT parquet, COMPRESSION snappy)`);
  const ms = performance.now() - t;
  console.log(`duckdb COPY ${ms.toFixed(0)}ms ${(1e6 / ms).toFixed(0)}k rows/s`);
}
const r = await c.runAndReadAll(`SELECT count(*) n, count(to_address) t, sum(gas) g, min(block_timestamp) ts FROM read_parquet('/tmp/proto.parquet')`);
console.log(r.getRowObjectsJson());
c.closeSync(); db.closeSync();
