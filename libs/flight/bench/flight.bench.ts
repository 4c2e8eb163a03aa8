// DoGet throughput over loopback next to a raw TCP socket moving the same bytes.
// The parent process is the client; it spawns itself with `serve` as the server, so each
// side has its own event loop (and core).
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Dictionary, Field, Int32, Int64, makeData, RecordBatch, Schema, Struct, Utf8, Vector } from 'apache-arrow';
import { FlightClient, FlightServer } from '../src/index.js';
import { FlightDataEncoder } from '../src/ipc.js';

const TARGET_BYTES = Number(process.env.BENCH_MB ?? 500) * 1024 * 1024;
const ROWS_PER_BATCH = 65_536;
const RUNS = 5;

const schema = new Schema([
  new Field('block_number', new Int64(), false),
  new Field('tx_index', new Int64(), false),
  new Field('value', new Int64(), false),
  new Field('gas', new Int64(), false),
  new Field('hash', new Utf8(), false),
  new Field('from', new Utf8(), false),
  new Field('to', new Utf8(), false),
  new Field('method', new Dictionary(new Utf8(), new Int32(), 1), false),
]);

const HEX = Buffer.from('0123456789abcdef');

/** A Utf8 column of `rows` random 0x-prefixed hex strings of `chars` hex digits, built without JS strings. */
function hexColumn(rows: number, chars: number) {
  const width = chars + 2;
  const values = Buffer.allocUnsafe(rows * width);
  const random = randomFillSync(Buffer.allocUnsafe(rows * chars));
  const offsets = new Int32Array(rows + 1);
  for (let r = 0, v = 0, x = 0; r < rows; r++) {
    values[v++] = 0x30;
    values[v++] = 0x78;
    for (let c = 0; c < chars; c++) values[v++] = HEX[random[x++] & 15];
    offsets[r + 1] = v;
  }
  return makeData({ type: new Utf8(), length: rows, nullCount: 0, valueOffsets: offsets, data: values });
}

function int64Column(rows: number, f: (i: number) => bigint) {
  const data = new BigInt64Array(rows);
  for (let i = 0; i < rows; i++) data[i] = f(i);
  return makeData({ type: new Int64(), length: rows, nullCount: 0, data });
}

function methodColumn(rows: number, batch: number) {
  const names = ['transfer', 'approve', 'swap', 'mint', 'burn', `batch-${batch}`];
  const dictionary = new Vector([
    makeData({
      type: new Utf8(),
      length: names.length,
      nullCount: 0,
      valueOffsets: Int32Array.from([0, ...names.map((_, i) => Buffer.byteLength(names.slice(0, i + 1).join('')))]),
      data: Buffer.from(names.join('')),
    }),
  ]);
  const indices = new Int32Array(rows);
  for (let i = 0; i < rows; i++) indices[i] = (i * 7919) % names.length;
  return makeData({ type: schema.fields[7].type as Dictionary<Utf8, Int32>, length: rows, nullCount: 0, data: indices, dictionary });
}

function makeBatches(): { batches: RecordBatch[]; ipcBytes: number } {
  const batches: RecordBatch[] = [];
  const encoder = new FlightDataEncoder(schema, { targetMessageBytes: Infinity, maxMessageBytes: Infinity });
  let ipcBytes = 0;
  for (let b = 0; ipcBytes < TARGET_BYTES; b++) {
    const first = b * ROWS_PER_BATCH;
    const children = [
      int64Column(ROWS_PER_BATCH, (i) => BigInt(19_000_000 + ((first + i) >> 8))),
      int64Column(ROWS_PER_BATCH, (i) => BigInt((first + i) & 255)),
      int64Column(ROWS_PER_BATCH, (i) => BigInt(first + i) * 1_000_000_007n),
      int64Column(ROWS_PER_BATCH, (i) => BigInt(21_000 + (i % 50_000))),
      hexColumn(ROWS_PER_BATCH, 64),
      hexColumn(ROWS_PER_BATCH, 40),
      hexColumn(ROWS_PER_BATCH, 40),
      methodColumn(ROWS_PER_BATCH, b),
    ];
    const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: ROWS_PER_BATCH, nullCount: 0, children }));
    for (const message of encoder.encode(batch)) ipcBytes += message.header.byteLength + message.bodyLength;
    batches.push(batch);
  }
  return { batches, ipcBytes };
}

async function serve(): Promise<void> {
  const { batches, ipcBytes } = makeBatches();
  const flight = new FlightServer({ doGet: async () => ({ schema, batches }) }, { port: 0 });
  const flightPort = await flight.start();

  const chunk = Buffer.alloc(2 * 1024 * 1024, 7);
  const raw = createServer((socket) => {
    socket.setNoDelay(true);
    let left = ipcBytes;
    const pump = (): void => {
      while (left > 0) {
        const piece = left >= chunk.byteLength ? chunk : chunk.subarray(0, left);
        left -= piece.byteLength;
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  process.send!({ flightPort, rawPort: (raw.address() as AddressInfo).port, ipcBytes, rows: batches.length * ROWS_PER_BATCH });
  process.on('disconnect', () => {
    raw.close();
    void flight.stop(0).then(() => process.exit(0));
  });
}

async function timeFlight(port: number, rows: number): Promise<number> {
  const client = new FlightClient(`grpc://127.0.0.1:${port}`);
  const started = process.hrtime.bigint();
  const { batches } = await client.doGet('bench');
  let seen = 0;
  for await (const batch of batches) seen += batch.numRows;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  client.close();
  if (seen !== rows) throw new Error(`flight doget returned ${seen} rows, expected ${rows}`);
  return seconds;
}

async function timeRaw(port: number, bytes: number): Promise<number> {
  const started = process.hrtime.bigint();
  const socket = createConnection({ port, host: '127.0.0.1' });
  let seen = 0;
  for await (const data of socket) seen += (data as Buffer).byteLength;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (seen !== bytes) throw new Error(`raw socket moved ${seen} bytes, expected ${bytes}`);
  return seconds;
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'serve'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [{ flightPort: number; rawPort: number; ipcBytes: number; rows: number }];
  const mb = ready.ipcBytes / 1e6;
  console.log(`data: ${ready.rows} rows, ${mb.toFixed(1)} MB of Arrow IPC in ${Math.ceil(ready.rows / ROWS_PER_BATCH)} batches`);
  try {
    const flight: number[] = [];
    const raw: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      flight.push(await timeFlight(ready.flightPort, ready.rows));
      raw.push(await timeRaw(ready.rawPort, ready.ipcBytes));
    }
    // The machine is shared and loopback speed swings by 2-3x between runs: runs alternate
    // Flight and raw, and the median of each is reported next to the best.
    const best = (xs: number[]): number => Math.min(...xs);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const line = (label: string, pick: (xs: number[]) => number): string => {
      const flightRate = mb / pick(flight);
      const rawRate = mb / pick(raw);
      return `flight doget (${label} of ${RUNS}): ${flightRate.toFixed(1)} MB/s (raw socket: ${rawRate.toFixed(1)} MB/s, ratio ${(flightRate / rawRate).toFixed(2)})`;
    };
    console.log(line('median', median));
    console.log(line('best', best));
    console.log(`  runs flight ${flight.map((s) => (mb / s).toFixed(0)).join(', ')} MB/s; raw ${raw.map((s) => (mb / s).toFixed(0)).join(', ')} MB/s`);
  } finally {
    child.disconnect();
  }
}

if (process.argv[2] === 'serve') await serve();
else await main();
