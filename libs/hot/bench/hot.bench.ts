// Hot-tier write throughput: HotStore.writeRange (Arrow → binary COPY, streamed, delete + COPY in one
// transaction) next to a plain PostgreSQL COPY of the same rows, pre-rendered as COPY text, into an identical
// table in the same run. A second reference pre-renders our binary COPY bytes, to show the server's own share.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Type, type Table } from 'apache-arrow';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain } from '@chainlake/chain-synthetic';
import { connectPostgres } from '@chainlake/postgres';
import { postgresDdl, transactions, type DatasetDef } from '@chainlake/schema';
import { testPgUrl, uniquePrefix } from '@chainlake/testkit';
import { encodeBinaryCopy, HotStore, hotTableName } from '../src/index.js';

const BLOCKS = Number(process.env.CHAINLAKE_BENCH_HOT_BLOCKS ?? 3000);
const ROUNDS = 3;

const chain = new SyntheticChain({
  seed: 1, chainId: 1337, blockTimeMs: 1000, txsPerBlock: 100, logsPerTx: 2, finalityDepth: 64, genesisTimestampMs: 0, now: () => 1e12,
});
const table = (decode(chain.rawSegment(0, BLOCKS - 1), 1337) as unknown as Record<string, Table>).transactions;
const rows = table.numRows;

/** PostgreSQL's COPY text format for the table: what a plain COPY of an exported file reads. */
function copyText(def: DatasetDef, t: Table): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  const vectors = def.columns.map((c) => t.getChild(c.name)!);
  for (let i = 0; i < t.numRows; i++) {
    const cells = vectors.map((v) => {
      if (!v.isValid(i)) return '\\N';
      if (v.type.typeId === Type.Timestamp) return new Date(Number(v.get(i))).toISOString();
      if (v.type.typeId === Type.Bool) return v.get(i) ? 't' : 'f';
      return String(v.get(i));
    });
    lines.push(cells.join('\t'));
    if (lines.length === 2000) {
      chunks.push(Buffer.from(lines.join('\n') + '\n'));
      lines = [];
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(lines.join('\n') + '\n'));
  return chunks;
}

const schema = uniquePrefix('hotbench');
const pool = await connectPostgres({ url: testPgUrl(), schema, max: 2 });
try {
  const store = new HotStore({ pool, schema, chain: 'bench' });
  await store.ensureTables([transactions]);
  const hot = `"${schema}"."${hotTableName('bench', 'transactions')}"`;
  await pool.query(postgresDdl(transactions, schema, 'plain_copy'));
  const plain = `"${schema}"."plain_copy"`;
  const text = copyText(transactions, table);
  const binary = [...encodeBinaryCopy(transactions, table.batches, { from: 0, to: BLOCKS - 1 })];
  const mb = (chunks: Buffer[]) => (chunks.reduce((s, c) => s + c.length, 0) / 1e6).toFixed(0);
  console.log(`${rows} transaction rows (${BLOCKS} blocks): COPY text ${mb(text)} MB, COPY binary ${mb(binary)} MB`);

  const copyChunks = async (sql: string, chunks: Buffer[]): Promise<void> => {
    const client = await pool.connect();
    try {
      await pipeline(Readable.from(chunks), client.query(copyFrom(sql)));
    } finally {
      client.release();
    }
  };
  const timed = async (reset: string, fn: () => Promise<unknown>): Promise<number> => {
    await pool.query(`TRUNCATE ${reset}`);
    await pool.query(`VACUUM ${reset}`);
    const start = performance.now();
    await fn();
    return performance.now() - start;
  };
  const cols = transactions.columns.map((c) => `"${c.name}"`).join(', ');
  const runs = { ours: [] as number[], text: [] as number[], binary: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.text.push(await timed(plain, () => copyChunks(`COPY ${plain} (${cols}) FROM STDIN`, text)));
    runs.ours.push(await timed(hot, () => store.writeRange('transactions', 0, BLOCKS - 1, table)));
    runs.binary.push(await timed(plain, () => copyChunks(`COPY ${plain} (${cols}) FROM STDIN (FORMAT binary)`, binary)));
  }
  const count = Number((await pool.query(`SELECT count(*) AS n FROM ${hot}`)).rows[0].n);
  if (count !== rows) throw new Error(`hot table holds ${count} rows, expected ${rows}`);

  // Reading back, as the compactor does: readRange (binary COPY TO → Arrow batches) next to the bare COPY TO bytes.
  const reads = { ours: [] as number[], bare: [] as number[] };
  const order = transactions.sortKey.map((k) => `"${k}"`).join(', ');
  for (let round = 0; round < ROUNDS; round++) {
    let start = performance.now();
    let seen = 0;
    for await (const batch of store.readRange('transactions', 0, BLOCKS - 1)) seen += batch.numRows;
    reads.ours.push(performance.now() - start);
    if (seen !== rows) throw new Error(`readRange gave ${seen} rows, expected ${rows}`);
    start = performance.now();
    const client = await pool.connect();
    try {
      for await (const _chunk of client.query(copyTo(`COPY (SELECT ${cols} FROM ${hot} ORDER BY ${order}) TO STDOUT (FORMAT binary)`)));
    } finally {
      client.release();
    }
    reads.bare.push(performance.now() - start);
  }
  const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)];
  const rate = (ms: number[]) => Math.round(rows / median(ms));
  console.log(`hot tier writeRange (Arrow → binary COPY, delete + COPY, one transaction): ${rate(runs.ours)}k rows/s (median of ${ROUNDS})`);
  console.log(`plain PostgreSQL COPY, same rows pre-rendered as text: ${rate(runs.text)}k rows/s`);
  console.log(`plain PostgreSQL COPY, same rows pre-rendered as binary: ${rate(runs.binary)}k rows/s`);
  console.log(`hot tier readRange (→ Arrow batches): ${rate(reads.ours)}k rows/s; bare COPY TO (binary, bytes discarded): ${rate(reads.bare)}k rows/s; ratio ${(median(reads.bare) / median(reads.ours)).toFixed(2)}`);
  console.log(`ratio hot / plain text COPY: ${(median(runs.text) / median(runs.ours)).toFixed(2)} (target ≥ 0.8); hot / pre-rendered binary: ${(median(runs.binary) / median(runs.ours)).toFixed(2)}`);
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
}
