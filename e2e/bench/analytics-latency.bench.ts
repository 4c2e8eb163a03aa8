// Analytics latency: a steady stream of typed transaction segments at a target rate, announced on
// typed.segments and served over Flight by this process (standing in for the transformer), into
// the analytics service as a real process. Measures, for every 1 s tumbling window (allowed
// lateness 0), the time from the announcement of the segment that both holds the window's last
// rows and closes it, to the window's result arriving on NATS. Reference in the same run: a core
// NATS publish → receive of a message of the result's size.
//
//   node --import tsx bench/analytics-latency.bench.ts [rowsPerSecond=100000] [seconds=30] [definitions=1..10]
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeData, RecordBatch, Struct, type Int64, type Table, type TimestampMicrosecond } from 'apache-arrow';
import {
  connectBus, deleteStreams, ensureStreams, HeadMessage, publishCore, publishDurable, TypedSegmentMessage, WindowResultMessage,
} from '@chainlake/bus';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { FlightServer } from '@chainlake/flight';
import { spawnService, tempDir, testNatsUrl, uniquePrefix } from '@chainlake/testkit';

const RATE = Number(process.argv[2] ?? 100_000);
const SECONDS = Number(process.argv[3] ?? 30);
const DEFINITIONS = Number(process.argv[4] ?? 1);
const SEGMENT_MS = 100;
const BLOCKS_PER_SEGMENT = 10;
const WARMUP_WINDOWS = 3;
const ROWS_PER_SEGMENT = Math.round((RATE * SEGMENT_MS) / 1000);

const latency = {
  name: 'latency_1s',
  dataset: 'transactions',
  window: { kind: 'tumbling', sizeMs: 1000 },
  allowedLatenessMs: 0,
  aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'value' }, { fn: 'sum', column: 'gas_used' }],
};
// The 9 other definitions of the aggregation benchmark (libs/aggregation/bench), for a run with 10 active.
const others = [
  { name: 'volume_1m', window: { kind: 'tumbling', sizeMs: 60_000 }, aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'value' }, { fn: 'sum', column: 'gas_used' }] },
  { name: 'top_receivers_5m', window: { kind: 'tumbling', sizeMs: 300_000 }, groupBy: ['to_address'], aggregates: [{ fn: 'sum', column: 'value', as: 'volume' }, { fn: 'count' }], topK: { k: 10, by: 'volume' } },
  { name: 'gas_price_sliding', window: { kind: 'sliding', sizeMs: 300_000, slideMs: 60_000 }, aggregates: [{ fn: 'avg', column: 'gas_price' }, { fn: 'percentile', column: 'gas_price', p: 99 }] },
  { name: 'senders_1h', window: { kind: 'tumbling', sizeMs: 3_600_000 }, aggregates: [{ fn: 'distinct_count', column: 'from_address' }] },
  { name: 'sender_sessions', window: { kind: 'session', gapMs: 60_000 }, groupBy: ['from_address'], aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'gas_used' }] },
  { name: 'successful_value', window: { kind: 'tumbling', sizeMs: 60_000 }, filter: { and: [{ column: 'success', op: 'eq', value: 'true' }, { column: 'value', op: 'gt', value: '0' }] }, aggregates: [{ fn: 'count' }, { fn: 'sum', column: 'value' }] },
  { name: 'by_type', window: { kind: 'tumbling', sizeMs: 60_000 }, groupBy: ['transaction_type'], aggregates: [{ fn: 'stddev', column: 'gas_used' }, { fn: 'max', column: 'gas_price' }, { fn: 'min', column: 'value' }] },
  { name: 'sender_fanout', window: { kind: 'sliding', sizeMs: 600_000, slideMs: 120_000 }, groupBy: ['from_address'], aggregates: [{ fn: 'count' }, { fn: 'distinct_count', column: 'to_address' }] },
  { name: 'gas_median_15m', window: { kind: 'tumbling', sizeMs: 900_000 }, aggregates: [{ fn: 'percentile', column: 'gas_used', p: 50, exact: true }] },
].map((d) => ({ dataset: 'transactions', ...d }));

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (v: number) => `${v.toFixed(1)} ms`;

/** User + system CPU seconds a process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// Distinct synthetic transactions, 10 blocks (~ROWS_PER_SEGMENT rows) per pooled segment; each use gets fresh block numbers and timestamps.
const chain = new SyntheticChain(syntheticOptionsFromEnv({ CHAINLAKE_SYNTHETIC_SEED: '3', CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: String(Math.ceil(ROWS_PER_SEGMENT / 10)) }));
const pool: RecordBatch[] = [];
for (let i = 0; i < 8; i++) {
  const table = decode(chain.rawSegment(i * 10, i * 10 + 9), 1337).transactions as unknown as Table;
  if (table.batches.length !== 1) throw new Error(`decoded transactions come in ${table.batches.length} batches; expected 1`);
  pool.push(table.batches[0]);
}

/** A pooled batch with the blocks and event times of segment k: BLOCKS_PER_SEGMENT blocks over [start, start + SEGMENT_MS). */
function segmentBatch(k: number, startMs: number): RecordBatch {
  const batch = pool[k % pool.length];
  const n = batch.numRows;
  const blocks = new BigInt64Array(n);
  const micros = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    blocks[i] = BigInt(k * BLOCKS_PER_SEGMENT + Math.floor((i * BLOCKS_PER_SEGMENT) / n));
    micros[i] = BigInt(startMs + Math.floor((i * SEGMENT_MS) / n)) * 1000n;
  }
  const children = batch.schema.fields.map((f, c) => {
    const child = batch.data.children[c];
    if (f.name === 'block_number') return makeData({ type: child.type as Int64, length: n, data: blocks });
    if (f.name === 'block_timestamp') return makeData({ type: child.type as TimestampMicrosecond, length: n, data: micros });
    return child;
  });
  return new RecordBatch(batch.schema, makeData({ type: new Struct(batch.schema.fields), length: n, nullCount: 0, children }));
}

const dir = await tempDir('bench-analytics');
const bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix('benchan'), name: 'analytics-latency-bench' });
await ensureStreams(bus);
const served = new Map<string, RecordBatch>();
const flight = new FlightServer(
  {
    doGet: async (ticket) => {
      const batch = served.get(ticket.toString('utf8'));
      if (!batch) throw new Error(`no segment for ${ticket.toString('utf8')}`);
      return { schema: batch.schema, batches: [batch] };
    },
  },
  { host: '127.0.0.1', port: 0 },
);
await flight.start();

// Reference: core NATS publish → receive, in this process, of a message the size of a window result.
const resultSize = WindowResultMessage.encode({
  v: 1, definition: latency.name, windowStart: new Date().toISOString(), windowEnd: new Date().toISOString(), group: {},
  values: { count: 100_000, sum_value: '123456789012345678901234567', sum_gas_used: 12_345_678_901 }, rows: 100_000, revision: 1,
}).length;
const reference: number[] = [];
{
  const subject = `${bus.prefix}.bench.reference`;
  const sub = bus.nc.subscribe(subject, {
    callback: (_err, msg) => void reference.push(performance.now() - new DataView(msg.data.buffer, msg.data.byteOffset).getFloat64(0)),
  });
  await bus.nc.flush();
  for (let i = 0; i < 300; i++) {
    const body = new Uint8Array(resultSize);
    new DataView(body.buffer).setFloat64(0, performance.now());
    bus.nc.publish(subject, body);
    await sleep(3);
  }
  await bus.nc.flush();
  await sleep(100);
  sub.unsubscribe();
}

const file = join(dir.path, 'definitions.json');
await writeFile(file, JSON.stringify([latency, ...others.slice(0, DEFINITIONS - 1)]));
const analytics = spawnService('analytics', {
  CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: bus.prefix, CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0',
  CHAINLAKE_ANALYTICS_DEFINITIONS: file,
});
try {
  await analytics.httpPort();
  await sleep(1000);

  const announcedAt = new Map<number, number>();
  const latencies: number[] = [];
  const t0 = Math.ceil(Date.now() / 1000) * 1000 + 10_000;
  // Segment k covers event time [t0 + k·100 + 50, … + 100): the one holding a window's last 50 ms also closes it.
  const segmentStart = (k: number) => t0 + k * SEGMENT_MS + SEGMENT_MS / 2;
  const closingSegment = (windowEndMs: number) => Math.floor((windowEndMs - t0 - SEGMENT_MS / 2) / SEGMENT_MS);
  const results = bus.nc.subscribe(bus.subjects.analytics(latency.name), {
    callback: (_err, msg) => {
      const now = performance.now();
      const r = WindowResultMessage.decode(msg.data);
      const k = closingSegment(Date.parse(r.windowEnd));
      const at = announcedAt.get(k);
      if (at !== undefined && Date.parse(r.windowStart) >= t0 + WARMUP_WINDOWS * 1000) latencies.push(now - at);
    },
  });
  await bus.nc.flush();

  const segments = Math.round((SECONDS * 1000) / SEGMENT_MS);
  const cpuBefore = cpuSeconds(analytics.child.pid!);
  const started = performance.now();
  let rows = 0;
  let behindMs = 0;
  for (let k = 0; k < segments; k++) {
    const due = started + k * SEGMENT_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else behindMs = Math.max(behindMs, -wait);
    const batch = segmentBatch(k, segmentStart(k));
    const from = k * BLOCKS_PER_SEGMENT;
    const to = from + BLOCKS_PER_SEGMENT - 1;
    const ticket = JSON.stringify({ segment: `synthetic:${from}-${to}`, dataset: 'transactions' });
    served.set(ticket, batch);
    served.delete(JSON.stringify({ segment: `synthetic:${from - 100 * BLOCKS_PER_SEGMENT}-${to - 100 * BLOCKS_PER_SEGMENT}`, dataset: 'transactions' }));
    announcedAt.set(k, performance.now());
    await publishDurable(bus, bus.subjects.typedSegments('synthetic'), TypedSegmentMessage, {
      v: 1, chain: 'synthetic', from, to, datasets: { transactions: { rows: batch.numRows, bytes: 0 } }, location: flight.location, tickets: { transactions: ticket },
    });
    rows += batch.numRows;
    if (k % 5 === 4) publishCore(bus, bus.subjects.head('synthetic'), HeadMessage, { v: 1, chain: 'synthetic', head: to, finalized: Math.max(0, to - 64), at: new Date().toISOString() });
  }
  const announcing = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(analytics.child.pid!) - cpuBefore;
  const windows = Math.floor((segments * SEGMENT_MS) / 1000) - 1;
  const deadline = performance.now() + 60_000;
  while (latencies.length < windows - WARMUP_WINDOWS && performance.now() < deadline) await sleep(50);
  results.unsubscribe();

  latencies.sort((a, b) => a - b);
  reference.sort((a, b) => a - b);
  console.log(
    `analytics latency, ${DEFINITIONS} definition${DEFINITIONS === 1 ? '' : 's'} active, 1 s tumbling windows, lateness 0: ` +
      `${Math.round(rows / announcing).toLocaleString('en-US')} rows/s announced (target ${RATE.toLocaleString('en-US')}; ` +
      `~${Math.round(rows / segments).toLocaleString('en-US')} rows per segment every ${SEGMENT_MS} ms, announcer at most ${ms(behindMs)} late); ` +
      `analytics used ${((cpu / announcing) * 100).toFixed(0)}% of a core meanwhile`,
  );
  console.log(
    `  segment announcement → window result on NATS: p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, ` +
      `max ${ms(latencies[latencies.length - 1])} over ${latencies.length} windows (target p99 < 100 ms)`,
  );
  console.log(
    `  reference, core NATS publish → receive of ${resultSize} bytes in this process: p50 ${ms(percentile(reference, 50))}, p99 ${ms(percentile(reference, 99))}`,
  );
} finally {
  await analytics.stop();
  await flight.stop(1000);
  await deleteStreams(bus);
  await bus.drain();
  await dir.remove();
}
