// DoGet throughput over loopback next to a raw TCP socket moving the same bytes: the Arrow IPC
// stream of the same batches, cut into the same messages the Flight server sends, written to the
// socket message by message and read by a client that takes every chunk. A second reference
// decodes that socket stream with Arrow's reader, as the Flight client does; a third, for
// information, is grpc-js alone streaming the pre-encoded FlightData to a client that counts it.
// The client process spawns itself with `serve` as the server, so each side has its own event
// loop (and core). Both run with the transformer's Node flags (tools/node-flags.json): it is a
// Flight client and server in the mesh, where the source and the archiver are each one of the two. CPU
// time per side is reported too: on a shared machine it is steadier than wall-clock time.
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Dictionary, Field, Int32, Int64, makeData, RecordBatch, RecordBatchReader, Schema, Struct, Utf8, Vector } from 'apache-arrow';
import { Client, Server, ServerCredentials, credentials, type ServerWritableStream } from '@grpc/grpc-js';
import { nodeFlags } from '@chainlake/testkit';
import { FlightClient, FlightServer } from '../src/index.js';
import { FlightDataEncoder } from '../src/ipc.js';
import { encodeFlightData } from '../src/proto.js';
import { DEFAULT_MAX_MESSAGE_BYTES, targetMessageBytes } from '../src/stream.js';

const TARGET_BYTES = Number(process.env.BENCH_MB ?? 500) * 1024 * 1024;
const ROWS_PER_BATCH = 65_536;
const RUNS = 7;
/**
 * Rounds run and discarded first: in a sequence of 40 DoGets the first ~8 (~4 s of streaming)
 * ran 15-25% slower than the rest, as a service's would only after its start.
 */
const WARMUP_ROUNDS = 3;

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

/** One encapsulated IPC message (continuation, length, padded flatbuffer, body) in a buffer of its own. */
function ipcMessage(message: { header: Uint8Array; body: Uint8Array[]; bodyLength: number }): Buffer {
  const padded = Math.ceil(message.header.byteLength / 8) * 8;
  const out = Buffer.alloc(8 + padded + message.bodyLength);
  out.writeUInt32LE(0xffffffff, 0);
  out.writeUInt32LE(padded, 4);
  out.set(message.header, 8);
  let offset = 8 + padded;
  for (const chunk of message.body) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** The batches, and their Arrow IPC stream cut into the messages the Flight server sends. */
function makeBatches(): { batches: RecordBatch[]; ipcStream: Buffer[]; flightData: Buffer[] } {
  const batches: RecordBatch[] = [];
  const encoder = new FlightDataEncoder(schema, {
    targetMessageBytes: targetMessageBytes(DEFAULT_MAX_MESSAGE_BYTES),
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  });
  const ipcStream = [ipcMessage(encoder.start())];
  const flightData = [encodeFlightData(encoder.start())];
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
    for (const message of encoder.encode(batch)) {
      const bytes = ipcMessage(message);
      flightData.push(encodeFlightData(message));
      ipcBytes += bytes.byteLength;
      ipcStream.push(bytes);
    }
    batches.push(batch);
  }
  ipcStream.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  return { batches, ipcStream, flightData };
}

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

const BARE_DOGET = '/bench.Bare/DoGet';
const identity = (bytes: Buffer): Buffer => bytes;

/** A grpc-js server streaming pre-encoded FlightData: the transport's own ceiling, without Flight or Arrow work. */
async function bareGrpc(flightData: Buffer[]): Promise<number> {
  const server = new Server({ 'grpc.max_send_message_length': -1 });
  const doGet = {
    path: BARE_DOGET,
    requestStream: false,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
  server.addService({ DoGet: doGet }, {
    DoGet: (call: ServerWritableStream<Buffer, Buffer>) => {
      let next = 0;
      const pump = (): void => {
        while (next < flightData.length) {
          if (!call.write(flightData[next++])) return void call.once('drain', pump);
        }
        call.end();
      };
      pump();
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

async function serve(): Promise<void> {
  const { batches, ipcStream, flightData } = makeBatches();
  const barePort = await bareGrpc(flightData);
  const flightBytes = flightData.reduce((sum, message) => sum + message.byteLength, 0);
  const ipcBytes = ipcStream.reduce((sum, message) => sum + message.byteLength, 0);
  const flight = new FlightServer({ doGet: async () => ({ schema, batches }) }, { port: 0 });
  const flightPort = await flight.start();

  const raw = createServer((socket) => {
    socket.setNoDelay(true);
    let next = 0;
    const pump = (): void => {
      while (next < ipcStream.length) {
        if (!socket.write(ipcStream[next++])) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  process.on('message', () => process.send!({ cpu: cpuSeconds() }));
  process.send!({ flightPort, barePort, flightBytes, rawPort: (raw.address() as AddressInfo).port, ipcBytes, rows: batches.length * ROWS_PER_BATCH });
  process.on('disconnect', () => {
    raw.close();
    void flight.stop(0).then(() => process.exit(0));
  });
}

interface Run {
  seconds: number;
  serverCpu: number;
  clientCpu: number;
}

type Child = ReturnType<typeof spawn>;

async function serverCpu(child: Child): Promise<number> {
  child.send('cpu');
  const [reply] = (await once(child, 'message')) as [{ cpu: number }];
  return reply.cpu;
}

async function measure(child: Child, fn: () => Promise<void>): Promise<Run> {
  const serverBefore = await serverCpu(child);
  const clientBefore = cpuSeconds();
  const started = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const clientCpu = cpuSeconds() - clientBefore;
  return { seconds, clientCpu, serverCpu: (await serverCpu(child)) - serverBefore };
}

async function flightDoGet(port: number, rows: number): Promise<void> {
  const client = new FlightClient(`grpc://127.0.0.1:${port}`);
  const { batches } = await client.doGet('bench');
  let seen = 0;
  for await (const batch of batches) seen += batch.numRows;
  client.close();
  if (seen !== rows) throw new Error(`flight doget returned ${seen} rows, expected ${rows}`);
}

async function bareGrpcDoGet(port: number, bytes: number): Promise<void> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc-node.flow_control_window': 32 * 1024 * 1024,
  });
  const call = client.makeServerStreamRequest(BARE_DOGET, identity, identity, Buffer.alloc(0));
  let seen = 0;
  for await (const message of call) seen += (message as Buffer).byteLength;
  client.close();
  if (seen !== bytes) throw new Error(`bare grpc-js moved ${seen} bytes, expected ${bytes}`);
}

async function rawBytes(port: number, bytes: number): Promise<void> {
  const socket = createConnection({ port, host: '127.0.0.1' });
  let seen = 0;
  for await (const data of socket) seen += (data as Buffer).byteLength;
  if (seen !== bytes) throw new Error(`raw socket moved ${seen} bytes, expected ${bytes}`);
}

async function rawArrow(port: number, rows: number): Promise<void> {
  const socket = createConnection({ port, host: '127.0.0.1' });
  let seen = 0;
  for await (const batch of await RecordBatchReader.from(socket as AsyncIterable<Buffer>)) seen += batch.numRows;
  if (seen !== rows) throw new Error(`raw socket with Arrow decoding returned ${seen} rows, expected ${rows}`);
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'serve'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [{ flightPort: number; barePort: number; flightBytes: number; rawPort: number; ipcBytes: number; rows: number }];
  const mb = ready.ipcBytes / 1e6;
  console.log(`data: ${ready.rows} rows, ${mb.toFixed(1)} MB of Arrow IPC in ${Math.ceil(ready.rows / ROWS_PER_BATCH)} batches; node flags: ${process.execArgv.filter((f) => f.startsWith('--') && f !== '--import').join(' ')}`);
  try {
    const runs = { flight: [] as Run[], bare: [] as Run[], raw: [] as Run[], rawArrow: [] as Run[] };
    // The machine is shared and loopback speed swings by 2-3x between runs: runs alternate
    // the three kinds, and the median of each is reported with the range.
    for (let run = 0; run < WARMUP_ROUNDS + RUNS; run++) {
      const flight = await measure(child, () => flightDoGet(ready.flightPort, ready.rows));
      const bare = await measure(child, () => bareGrpcDoGet(ready.barePort, ready.flightBytes));
      const raw = await measure(child, () => rawBytes(ready.rawPort, ready.ipcBytes));
      const arrow = await measure(child, () => rawArrow(ready.rawPort, ready.rows));
      if (run < WARMUP_ROUNDS) continue;
      runs.flight.push(flight);
      runs.bare.push(bare);
      runs.raw.push(raw);
      runs.rawArrow.push(arrow);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const rate = (kind: Run[]): number => mb / median(kind.map((r) => r.seconds));
    const range = (kind: Run[]): string => {
      const rates = kind.map((r) => mb / r.seconds);
      return `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`;
    };
    const cpu = (kind: Run[]): string =>
      `CPU per GB: server ${(median(kind.map((r) => r.serverCpu)) / (mb / 1000)).toFixed(2)} s, client ${(median(kind.map((r) => r.clientCpu)) / (mb / 1000)).toFixed(2)} s`;
    const flightRate = rate(runs.flight);
    console.log(
      `flight doget (median of ${RUNS}): ${flightRate.toFixed(1)} MB/s (raw socket: ${rate(runs.raw).toFixed(1)} MB/s, ratio ${(flightRate / rate(runs.raw)).toFixed(2)}; ` +
        `raw socket with Arrow decoding: ${rate(runs.rawArrow).toFixed(1)} MB/s, ratio ${(flightRate / rate(runs.rawArrow)).toFixed(2)})`,
    );
    console.log(`  flight doget: runs ${range(runs.flight)} MB/s, ${cpu(runs.flight)}`);
    console.log(`  grpc-js alone, pre-encoded FlightData: ${rate(runs.bare).toFixed(1)} MB/s, runs ${range(runs.bare)} MB/s, ${cpu(runs.bare)}`);
    console.log(`  raw socket: runs ${range(runs.raw)} MB/s, ${cpu(runs.raw)}`);
    console.log(`  raw socket with Arrow decoding: runs ${range(runs.rawArrow)} MB/s, ${cpu(runs.rawArrow)}`);
  } finally {
    child.disconnect();
  }
}

if (process.argv[2] === 'serve') await serve();
else if (process.argv[2] === 'client') await main();
else {
  const client = spawn(process.execPath, [...nodeFlags('transformer'), ...process.execArgv, fileURLToPath(import.meta.url), 'client'], { stdio: 'inherit' });
  const [code] = (await once(client, 'exit')) as [number | null];
  process.exitCode = code ?? 1;
}
