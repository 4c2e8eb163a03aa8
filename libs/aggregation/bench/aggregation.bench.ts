/**
 * Rows/s aggregated by 10 definitions at once over synthetic transaction batches, next to the floor
 * measured in the same run: a plain loop summing gas_used over the same rows.
 *
 *   npm run bench -- [batches=40] [rowsPerBatch=10000]
 */
import { Aggregation, parseDefinition } from '../src/index.js';
import { prng, T0, txBatch, type TxRow } from '../test/fixtures.js';

const BATCHES = Number(process.argv[2] ?? 40);
const ROWS = Number(process.argv[3] ?? 10_000);
const ROWS_PER_BLOCK = 150;
const FINALITY = 64;

const addresses = Array.from({ length: 1000 }, (_, i) => `0x${(i * 7919 + 1).toString(16).padStart(40, '0')}`);
const rnd = prng(42);
const batches = Array.from({ length: BATCHES }, (_, b) => {
  const rows: TxRow[] = [];
  for (let i = 0; i < ROWS; i++) {
    const n = b * ROWS + i;
    const block = 1_000_000 + Math.floor(n / ROWS_PER_BLOCK);
    rows.push({
      block_number: block,
      block_timestamp: T0 + (block - 1_000_000) * 12_000,
      transaction_index: n % ROWS_PER_BLOCK,
      from_address: addresses[Math.floor(rnd() ** 2 * addresses.length)],
      to_address: rnd() < 0.05 ? null : addresses[Math.floor(rnd() ** 3 * addresses.length)],
      value: rnd() < 0.5 ? '0' : (BigInt(Math.floor(rnd() * 1e12)) * 1_000_000_000n).toString(),
      gas_used: 21_000 + Math.floor(rnd() * 300_000),
      gas_price: String(1_000_000_000 + Math.floor(rnd() * 100_000_000_000)),
      transaction_type: rnd() < 0.8 ? 2 : 0,
      max_fee_per_gas: rnd() < 0.2 ? null : String(Math.floor(rnd() * 2e11)),
      success: rnd() < 0.95,
    });
  }
  return { batch: txBatch(rows), lastBlock: rows[rows.length - 1].block_number };
});
const totalRows = BATCHES * ROWS;

const tx = { dataset: 'transactions' };
const definitions = [
  { name: 'volume_1m', window: { kind: 'tumbling', sizeMs: 60_000 }, aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'value' }, { fn: 'sum', column: 'gas_used' }] },
  { name: 'top_receivers_5m', window: { kind: 'tumbling', sizeMs: 300_000 }, groupBy: ['to_address'], aggregates: [{ fn: 'sum', column: 'value', as: 'volume' }, { fn: 'count' }], topK: { k: 10, by: 'volume' } },
  { name: 'gas_price_sliding', window: { kind: 'sliding', sizeMs: 300_000, slideMs: 60_000 }, aggregates: [{ fn: 'avg', column: 'gas_price' }, { fn: 'percentile', column: 'gas_price', p: 99 }] },
  { name: 'senders_1h', window: { kind: 'tumbling', sizeMs: 3_600_000 }, aggregates: [{ fn: 'distinct_count', column: 'from_address' }] },
  { name: 'sender_sessions', window: { kind: 'session', gapMs: 60_000 }, groupBy: ['from_address'], aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'gas_used' }] },
  { name: 'successful_value', window: { kind: 'tumbling', sizeMs: 60_000 }, filter: { and: [{ column: 'success', op: 'eq', value: 'true' }, { column: 'value', op: 'gt', value: '0' }] }, aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'value' }] },
  { name: 'by_type', window: { kind: 'tumbling', sizeMs: 60_000 }, groupBy: ['transaction_type'], aggregates: [{ fn: 'stddev', column: 'gas_used' }, { fn: 'max', column: 'gas_price' }, { fn: 'min', column: 'value' }] },
  { name: 'sender_fanout', window: { kind: 'sliding', sizeMs: 600_000, slideMs: 120_000 }, groupBy: ['from_address'], aggregates: [{ fn: 'count' }, { fn: 'distinct_count', column: 'to_address' }] },
  { name: 'gas_median_15m', window: { kind: 'tumbling', sizeMs: 900_000 }, aggregates: [{ fn: 'percentile', column: 'gas_used', p: 50, exact: true }] },
  { name: 'watched', window: { kind: 'tumbling', sizeMs: 60_000 }, filter: { column: 'to_address', op: 'in', values: addresses.slice(0, 20) }, aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'gas_used' }] },
].map((d) => parseDefinition({ ...tx, ...d }));

function floor(): { seconds: number; sum: number } {
  const started = performance.now();
  let sum = 0;
  for (const { batch } of batches) {
    const values = batch.getChild('gas_used')!.data[0].values as BigInt64Array;
    for (let i = 0; i < values.length; i++) sum += Number(values[i]);
  }
  return { seconds: (performance.now() - started) / 1000, sum };
}

function aggregate(defs: typeof definitions): { seconds: number; results: number } {
  const aggs = defs.map((d) => new Aggregation(d));
  let results = 0;
  const started = performance.now();
  for (const { batch, lastBlock } of batches) {
    for (const a of aggs) {
      a.add(batch);
      results += a.fire().length;
      a.forget(lastBlock - FINALITY);
    }
  }
  return { seconds: (performance.now() - started) / 1000, results };
}

const rate = (seconds: number) => `${Math.round(totalRows / seconds).toLocaleString('en-US')} rows/s`;
floor();
aggregate(definitions.slice(0, 1));
const base = floor();
const all = aggregate(definitions);
console.log(`${totalRows.toLocaleString('en-US')} transaction rows in ${BATCHES} batches of ${ROWS.toLocaleString('en-US')}`);
console.log(`floor, plain loop summing gas_used: ${rate(base.seconds)} (${(base.seconds * 1000).toFixed(1)} ms)`);
console.log(`10 definitions at once:             ${rate(all.seconds)} (${(all.seconds * 1000).toFixed(0)} ms, ${all.results} results)`);
for (const d of definitions) {
  const one = aggregate([d]);
  console.log(`  ${d.name.padEnd(20)} alone: ${rate(one.seconds)}`);
}
