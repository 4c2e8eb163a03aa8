/**
 * Synthetic generation rate (raw segment tables), in one segment and in segments of 100 blocks, and
 * decode of the generated data into the typed datasets: 2,000 blocks of ~100 transactions and ~2
 * logs per transaction. Wall and CPU time are both reported because the development machine is
 * shared: CPU time is what the code costs.
 */
import { tableToIPC } from 'apache-arrow';
import { decode, rawDatasetNames } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '../src/index.js';

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 2000);
const chain = new SyntheticChain({ ...syntheticOptionsFromEnv({}), now: () => Date.UTC(2025, 0, 1) });

function measure<T>(runs: number, fn: () => T): { wall: number; cpu: number; result: T } {
  let result = fn();
  let wall = Infinity;
  let cpu = Infinity;
  for (let i = 0; i < runs; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const start = process.hrtime.bigint();
    const startCpu = process.cpuUsage();
    result = fn();
    const used = process.cpuUsage(startCpu);
    wall = Math.min(wall, Number(process.hrtime.bigint() - start) / 1e9);
    cpu = Math.min(cpu, (used.user + used.system) / 1e6);
  }
  return { wall, cpu, result };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const report = (label: string, rows: number, m: { wall: number; cpu: number }, extra = '') =>
  console.log(
    `${label.padEnd(34)} ${fmt(rows / m.wall).padStart(10)} tx rows/s wall ${fmt(rows / m.cpu).padStart(10)} tx rows/s CPU  ${(m.wall * 1000).toFixed(0).padStart(5)} ms ${extra}`,
  );

const first = 1_000_000;
const generated = measure(5, () => chain.rawSegment(first, first + BLOCKS - 1));
const raw = generated.result;
const txs = raw.raw_transactions.numRows;
const logs = raw.raw_logs.numRows;
const bytes = rawDatasetNames.reduce((sum, name) => sum + tableToIPC(raw[name]).length, 0);
console.log(`${fmt(BLOCKS)} blocks, ${fmt(txs)} transactions, ${fmt(logs)} logs; raw Arrow IPC ${(bytes / 1e6).toFixed(0)} MB\n`);
report('generate raw segment', txs, generated, `(${fmt((BLOCKS + txs + logs) / generated.wall)} rows/s wall, all datasets)`);
// Many small segments, each in a fresh set of writers (rawSegment), or, as the source service
// generates them, in writers reused once the segment is released (leaseRawSegment).
const SMALL = 100;
const small = measure(3, () => {
  let rows = 0;
  for (let from = first; from < first + BLOCKS; from += SMALL) rows += chain.rawSegment(from, from + SMALL - 1).raw_transactions.numRows;
  return rows;
});
report(`generate ${SMALL}-block segments`, small.result, small);
const leased = measure(3, () => {
  let rows = 0;
  for (let from = first; from < first + BLOCKS; from += SMALL) {
    const lease = chain.leaseRawSegment(from, from + SMALL - 1);
    rows += lease.tables.raw_transactions.numRows;
    lease.release();
  }
  return rows;
});
report(`generate ${SMALL}-block segments, leased`, leased.result, leased);
const decoded = measure(5, () => decode(raw, 1337));
report('decode generated segment', txs, decoded);
const both = measure(3, () => decode(chain.rawSegment(first, first + BLOCKS - 1), 1337));
report('generate + decode', txs, both);
