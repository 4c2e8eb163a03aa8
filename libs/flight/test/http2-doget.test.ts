import { once } from 'node:events';
import { constants, createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordBatch } from 'apache-arrow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, FlightError, FlightServer } from '../src/index.js';
import { decodeFlightDataMessage, GrpcMessageSplitter } from '../src/http2-doget.js';
import { FlightDataEncoder } from '../src/ipc.js';
import { encodeFlightData } from '../src/proto.js';
import { fixtureBatch, fixtureSchema, fixtureTable } from './fixture.js';

/** The gRPC-framed FlightData messages of a schema and its batches, as a Flight server sends them. */
function framedFlightData(batches: RecordBatch[]): Buffer[] {
  const encoder = new FlightDataEncoder(fixtureSchema, { targetMessageBytes: 64 * 1024 * 1024, maxMessageBytes: 64 * 1024 * 1024 });
  const messages = [encoder.start(), ...batches.flatMap((batch) => [...encoder.encode(batch)])];
  return messages.map((message) => {
    const encoded = encodeFlightData(message);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(encoded.byteLength, 1);
    return Buffer.concat([prefix, encoded]);
  });
}

const rowsOf = (batches: RecordBatch[]): unknown[] => batches.flatMap((batch) => batch.toArray().map((row) => row.toJSON()));

/** A bare HTTP/2 server standing in for a Flight server, to send what grpc-js servers never do. */
describe('DoGet over node:http2 against a hand-written server', () => {
  let server: Http2Server;
  let client: FlightClient;
  let respond: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;
  const requests: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = [];
  let sessions = 0;

  beforeAll(async () => {
    server = createServer();
    server.on('session', () => sessions++);
    server.on('stream', (stream, headers) => {
      const parts: Buffer[] = [];
      stream.on('data', (part: Buffer) => parts.push(part));
      stream.on('end', () => {
        const body = Buffer.concat(parts);
        requests.push({ headers, body });
        respond(stream, headers, body);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    client = new FlightClient(`grpc://127.0.0.1:${(server.address() as AddressInfo).port}`, { token: 'tok-1' });
  });

  afterEach(() => {
    requests.length = 0;
  });

  afterAll(async () => {
    client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends a gRPC POST with the ticket and token, and reads a trailers-only error with its percent-decoded message', async () => {
    const message = 'segment 10% "eth:0-99" — not in the spool';
    respond = (stream) =>
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': encodeURIComponent(message) },
        { endStream: true },
      );
    const failure = client.doGet('ticket-ü');
    await expect(failure).rejects.toBeInstanceOf(FlightError);
    await expect(failure).rejects.toMatchObject({ code: 'NOT_FOUND', message });
    const [request] = requests;
    expect(request.headers[':method']).toBe('POST');
    expect(request.headers[':path']).toBe('/arrow.flight.protocol.FlightService/DoGet');
    expect(request.headers['content-type']).toBe('application/grpc');
    expect(request.headers.te).toBe('trailers');
    expect(request.headers.authorization).toBe('Bearer tok-1');
    const ticket = Buffer.from('ticket-ü');
    expect(request.body).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 0, 2 + ticket.byteLength, 0x0a, ticket.byteLength]), ticket]));
  });

  it('assembles messages spanning many DATA chunks, split anywhere', async () => {
    const batches = [fixtureBatch(0, 0, 30_000), fixtureBatch(1, 30_000, 5)];
    const framed = Buffer.concat(framedFlightData(batches));
    expect(framed.byteLength).toBeGreaterThan(1024 * 1024);
    respond = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      void (async () => {
        // odd piece sizes so message prefixes and bodies are cut at every kind of boundary
        for (let offset = 0, piece = 1; offset < framed.byteLength; offset += piece, piece = (piece * 7 + 3) % 20_011) {
          stream.write(framed.subarray(offset, offset + piece));
          if (piece % 5 === 0) await sleep(0);
        }
        stream.end();
      })();
    };
    const { schema, batches: received } = await client.doGet('big');
    expect(schema.fields.map((field) => field.name)).toEqual(fixtureSchema.fields.map((field) => field.name));
    const all: RecordBatch[] = [];
    for await (const batch of received) all.push(batch);
    expect(all.map((batch) => batch.numRows)).toEqual([30_000, 5]);
    expect(rowsOf(all)).toEqual(rowsOf(batches));

    // With an allocator, the messages spanning chunks are received into its memory, 8-byte aligned.
    const memory = new ArrayBuffer(framed.byteLength + 64);
    let used = 0;
    const allocations: number[] = [];
    const allocate = (bytes: number): Uint8Array => {
      allocations.push(bytes);
      const view = new Uint8Array(memory, used, bytes);
      used += Math.ceil(bytes / 8) * 8;
      return view;
    };
    const pooled = await client.doGet('big', { allocate });
    const received2: RecordBatch[] = [];
    for await (const batch of pooled.batches) received2.push(batch);
    expect(rowsOf(received2)).toEqual(rowsOf(batches));
    expect(allocations.length).toBeGreaterThan(0);
    const hashes = received2[0].getChild('hash')!.data[0];
    expect(hashes.values.buffer).toBe(memory);
  });

  it('fails with INTERNAL when the stream ends without a status, and with UNIMPLEMENTED on HTTP 404', async () => {
    respond = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.end(framedFlightData([])[0]);
    };
    const outcome = (async () => {
      const { batches } = await client.doGet('no-status');
      for await (const _ of batches) throw new Error('no batch was sent');
    })();
    await expect(outcome).rejects.toMatchObject({ code: 'INTERNAL', message: 'the Flight server ended DoGet without a grpc-status' });
    respond = (stream) => stream.respond({ ':status': 404 }, { endStream: true });
    await expect(client.doGet('nowhere')).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
  });

  it('cancelling mid-stream resets the HTTP/2 stream and the session serves the next call', async () => {
    // schema, dictionary, then the record batch, repeated until cancelled
    const messages = framedFlightData([fixtureBatch(0, 0, 1_000)]);
    const batchMessage = messages[messages.length - 1];
    let closed!: Promise<number>;
    respond = (stream, _headers, body) => {
      if (body.includes('second')) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat(messages));
        return;
      }
      closed = new Promise((resolve) => stream.on('close', () => resolve(stream.rstCode)));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      for (const message of messages) stream.write(message);
      const timer = setInterval(() => stream.write(batchMessage), 2);
      stream.on('close', () => clearInterval(timer));
    };
    const sessionsBefore = sessions;
    const controller = new AbortController();
    const { batches } = await client.doGet('first', { signal: controller.signal });
    let received = 0;
    const read = (async () => {
      for await (const _ of batches) if (++received === 3) controller.abort();
    })();
    await expect(read).rejects.toMatchObject({ code: 'CANCELLED', message: 'DoGet was cancelled by the caller' });
    expect(await closed).toBe(constants.NGHTTP2_CANCEL);
    expect(received).toBe(3);
    const table = await client.doGetTable('second');
    expect(table.numRows).toBe(1_000);
    expect(sessions).toBe(sessionsBefore);
  });
});

describe('DoGet over node:http2 against the Flight server', () => {
  let server: FlightServer;
  let client: FlightClient;
  const table = fixtureTable(2, 100);

  beforeAll(async () => {
    server = new FlightServer(
      {
        async doGet(ticket) {
          if (ticket.toString() === 'empty') return { schema: fixtureSchema, batches: [] };
          throw FlightError.notFound(`segment ${ticket.toString()} at 100% "gone" — ✓`);
        },
      },
      { port: 0 },
    );
    await server.start();
    client = new FlightClient(server.location);
  });

  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('an empty stream has the schema and no rows', async () => {
    const { schema, batches } = await client.doGet('empty');
    expect(schema.fields.map((field) => field.name)).toEqual(table.schema.fields.map((field) => field.name));
    const received: RecordBatch[] = [];
    for await (const batch of batches) received.push(batch);
    // Arrow's reader gives a schema-only stream as one empty batch, with grpc-js as well
    expect(received.reduce((rows, batch) => rows + batch.numRows, 0)).toBe(0);
  });

  it('error messages arrive percent-decoded, special characters intact', async () => {
    await expect(client.doGet('eth:7')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'segment eth:7 at 100% "gone" — ✓' });
  });
});

describe('DoGet when nobody listens', () => {
  it('fails with UNAVAILABLE', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const client = new FlightClient(`grpc://127.0.0.1:${port}`);
    await expect(client.doGet('x')).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/ECONNREFUSED/) });
    client.close();
  });
});

describe('gRPC message splitting and FlightData decoding', () => {
  it('copies every message out of the chunks (a read buffer the connection reuses), into allocated memory when given', () => {
    const first = Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]);
    const second = Buffer.concat([Buffer.from([0, 0, 0, 0, 10]), Buffer.alloc(10, 7)]);
    const messages: Buffer[] = [];
    const splitter = new GrpcMessageSplitter(1024, (message) => messages.push(message));
    const stream = Buffer.alloc(first.byteLength + second.byteLength); // not from the pool the splitter may allocate in
    Buffer.concat([first, second]).copy(stream);
    splitter.push(stream.subarray(0, 10)); // the first whole, two bytes of the second's prefix
    expect(splitter.midMessage).toBe(true);
    splitter.push(stream.subarray(10, 14));
    splitter.push(stream.subarray(14));
    expect(splitter.midMessage).toBe(false);
    expect(messages).toEqual([Buffer.from([1, 2, 3]), Buffer.alloc(10, 7)]);
    expect(messages[0].buffer).not.toBe(stream.buffer);
    expect(messages[1].buffer).not.toBe(stream.buffer);

    const empty: Buffer[] = [];
    new GrpcMessageSplitter(1024, (message) => empty.push(message)).push(Buffer.from([0, 0, 0, 0, 0]));
    expect(empty).toEqual([Buffer.alloc(0)]);

    const memory = new Uint8Array(64);
    const allocated: Buffer[] = [];
    let next = 8;
    const bump = (bytes: number): Uint8Array => {
      const view = memory.subarray(next, next + bytes);
      next += Math.ceil(bytes / 8) * 8;
      return view;
    };
    const pooled = new GrpcMessageSplitter(1024, (message) => allocated.push(message), bump);
    for (const [start, end] of [[0, 10], [10, 14], [14, stream.byteLength]]) pooled.push(stream.subarray(start, end));
    expect(allocated).toEqual([Buffer.from([1, 2, 3]), Buffer.alloc(10, 7)]);
    expect(allocated.map((message) => [message.buffer, message.byteOffset])).toEqual([[memory.buffer, 8 + 5], [memory.buffer, 16 + 5]]);
    stream.fill(0xee);
    expect(messages).toEqual([Buffer.from([1, 2, 3]), Buffer.alloc(10, 7)]);
  });

  it('rejects messages over the size limit and compressed messages', () => {
    const splitter = new GrpcMessageSplitter(8, () => undefined);
    expect(() => splitter.push(Buffer.from([0, 0, 0, 0, 9]))).toThrow(/larger than max \(9 vs\. 8\)/);
    expect(() => new GrpcMessageSplitter(8, () => undefined).push(Buffer.from([1, 0, 0, 0, 1, 0]))).toThrow(/compressed/);
  });

  it('reads data_header, app_metadata and data_body, skipping unknown fields', () => {
    const message = Buffer.from([0x08, 0x96, 0x01, 0x12, 2, 0xaa, 0xbb, 0x1a, 1, 0xcc, 0xc2, 0x3e, 3, 1, 2, 3]);
    const data = decodeFlightDataMessage(message);
    expect(data.dataHeader).toEqual(Buffer.from([0xaa, 0xbb]));
    expect(data.appMetadata).toEqual(Buffer.from([0xcc]));
    expect(data.dataBody).toEqual(Buffer.from([1, 2, 3]));
    expect(data.dataBody.buffer).toBe(message.buffer);
    expect(() => decodeFlightDataMessage(Buffer.from([0x12, 5, 1]))).toThrow(/runs past the end/);
  });
});
