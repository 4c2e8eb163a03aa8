import { once } from 'node:events';
import { constants, createSecureServer, createServer, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { H2_REFUSED_STREAM, H2Connection, type H2Headers } from '../src/h2-connection.js';
import { TEST_CERT, TEST_KEY } from './tls-fixture.js';

interface Response {
  headers: H2Headers[];
  bytes: number;
  checksum: number;
  outcome: Promise<{ kind: 'end' } | { kind: 'reset'; code: number } | { kind: 'error'; message: string }>;
}

/** Opens a stream and collects what arrives on it. */
function get(connection: H2Connection, path: string, body = Buffer.from('request')): Response {
  const response = { headers: [] as H2Headers[], bytes: 0, checksum: 0 } as Response;
  let resolve!: (outcome: Awaited<Response['outcome']>) => void;
  response.outcome = new Promise((r) => (resolve = r));
  connection.request([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'localhost']], body, {
    headers: (headers) => response.headers.push(headers),
    data: (bytes) => {
      response.bytes += bytes.byteLength;
      for (const byte of bytes) response.checksum = (response.checksum * 31 + byte) >>> 0;
    },
    end: () => resolve({ kind: 'end' }),
    reset: (code) => resolve({ kind: 'reset', code }),
    error: (error) => resolve({ kind: 'error', message: error.message }),
  });
  return response;
}

function checksumOf(bytes: Buffer): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum * 31 + byte) >>> 0;
  return sum;
}

describe('the HTTP/2 client connection against node:http2 (nghttp2)', () => {
  let server: Http2Server | undefined;
  let connection: H2Connection | undefined;
  let serverSessions: ServerHttp2Session[] = [];

  afterEach(async () => {
    connection?.close();
    for (const session of serverSessions) session.destroy();
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  async function start(
    onStream: (stream: ServerHttp2Stream, headers: Record<string, unknown>, body: Buffer) => void,
    options: Parameters<typeof createServer>[0] = {},
  ): Promise<{ url: URL; sessions: ServerHttp2Session[] }> {
    const sessions: ServerHttp2Session[] = [];
    serverSessions = sessions;
    server = createServer(options);
    server.on('session', (session) => sessions.push(session));
    server.on('stream', (stream, headers) => {
      const parts: Buffer[] = [];
      stream.on('data', (part: Buffer) => parts.push(part));
      stream.on('end', () => onStream(stream, headers, Buffer.concat(parts)));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), sessions };
  }

  it('reads padded DATA and HEADERS frames, a header block continued over CONTINUATION frames, and trailers', async () => {
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.byteLength; i++) payload[i] = (i * 7) % 251;
    const long = 'x'.repeat(40_000); // past one 16 KiB frame: HEADERS + CONTINUATION
    const { url } = await start(
      (stream, _headers, body) => {
        stream.respond({ ':status': 200, 'x-echo': body.toString(), 'x-long': long }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'done%20%E2%9C%93' }));
        stream.end(payload);
      },
      { paddingStrategy: constants.PADDING_STRATEGY_MAX },
    );
    connection = new H2Connection(url, { streamWindow: 1 << 20, connectionWindow: 1 << 20 });
    const response = get(connection, '/padded', Buffer.from('ticket'));
    expect(await response.outcome).toEqual({ kind: 'end' });
    expect(response.bytes).toBe(payload.byteLength);
    expect(response.checksum).toBe(checksumOf(payload));
    expect(response.headers[0][':status']).toBe('200');
    expect(response.headers[0]['x-echo']).toBe('ticket');
    expect(response.headers[0]['x-long']).toBe(long);
    expect(response.headers[1]).toMatchObject({ 'grpc-status': '0', 'grpc-message': 'done%20%E2%9C%93' });
  });

  it('returns window as data is read: a response 8× the stream window arrives whole, as do concurrent ones', async () => {
    const payload = Buffer.alloc(8 << 20, 1);
    const { url, sessions } = await start(
      (stream) => {
        stream.respond({ ':status': 200 });
        stream.end(payload);
      },
      { maxSessionMemory: 100 }, // (MB) the server queues all three responses at once
    );
    connection = new H2Connection(url, { streamWindow: 1 << 20, connectionWindow: 2 << 20 });
    const responses = [get(connection, '/a'), get(connection, '/b'), get(connection, '/c')];
    for (const response of responses) {
      expect(await response.outcome).toEqual({ kind: 'end' });
      expect(response.bytes).toBe(payload.byteLength);
    }
    expect(sessions).toHaveLength(1);
  });

  it('a paused stream stops the server once its window is used; resuming lets the rest through', async () => {
    const payload = Buffer.alloc(4 << 20, 2);
    let written = 0;
    const { url } = await start((stream) => {
      stream.respond({ ':status': 200 });
      const chunk = payload.subarray(0, 64 * 1024);
      const pump = (): void => {
        while (written < payload.byteLength) {
          written += chunk.byteLength;
          if (!stream.write(chunk)) return void stream.once('drain', pump);
        }
        stream.end();
      };
      pump();
    });
    connection = new H2Connection(url, { streamWindow: 1 << 20, connectionWindow: 16 << 20 });
    let received = 0;
    let stream!: ReturnType<H2Connection['request']>;
    const done = new Promise<void>((resolve, reject) => {
      stream = connection!.request([[':method', 'POST'], [':scheme', 'http'], [':path', '/slow'], [':authority', 'x']], Buffer.alloc(0), {
        headers: () => undefined,
        data: (bytes) => {
          received += bytes.byteLength;
          stream.pause();
        },
        end: resolve,
        reset: (code) => reject(new Error(`reset ${code}`)),
        error: reject,
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toBeLessThanOrEqual(1 << 20);
    expect(received).toBeGreaterThan(0);
    const interval = setInterval(() => stream.resume(), 5);
    await done;
    clearInterval(interval);
    expect(received).toBe(payload.byteLength);
  });

  it('answers the server’s PING, and on GOAWAY refuses the streams it did not take and opens no more', async () => {
    const { url, sessions } = await start((stream) => {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    connection = new H2Connection(url, { streamWindow: 1 << 20, connectionWindow: 1 << 20 });
    expect(await get(connection, '/first').outcome).toEqual({ kind: 'end' });
    const rtt = await new Promise<number>((resolve, reject) => sessions[0].ping((err, duration) => (err ? reject(err) : resolve(duration))));
    expect(rtt).toBeGreaterThanOrEqual(0);

    let unusable = 0;
    const goingAway = new H2Connection(url, { streamWindow: 1 << 20, connectionWindow: 1 << 20, onUnusable: () => unusable++ });
    expect(await get(goingAway, '/one').outcome).toEqual({ kind: 'end' });
    sessions[1].goaway(constants.NGHTTP2_NO_ERROR, 1);
    const late = get(goingAway, '/late'); // stream 3, sent before the GOAWAY arrives
    expect(await late.outcome).toEqual({ kind: 'reset', code: H2_REFUSED_STREAM });
    expect(unusable).toBe(1);
    expect(goingAway.open).toBe(false);
    expect(() => get(goingAway, '/after')).toThrow(/closing/);
    goingAway.close();
  });

  it('fails the open streams with the reason when the server breaks the protocol or the connection drops', async () => {
    const { url, sessions } = await start((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('partial');
      setTimeout(() => sessions[0].destroy(), 50);
    });
    connection = new H2Connection(url, { streamWindow: 1 << 20, connectionWindow: 1 << 20 });
    const response = get(connection, '/dropped');
    expect(await response.outcome).toEqual({ kind: 'error', message: 'the connection closed' });
    expect(response.bytes).toBe('partial'.length);
    expect(connection.open).toBe(false);
  });

  it('speaks HTTP/2 over TLS (ALPN h2) and refuses a server it cannot verify', async () => {
    const secure = createSecureServer({ cert: TEST_CERT, key: TEST_KEY });
    secure.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.end('over tls');
    });
    secure.listen(0, '127.0.0.1');
    await once(secure, 'listening');
    const url = new URL(`https://127.0.0.1:${(secure.address() as AddressInfo).port}`);
    try {
      const trusted = new H2Connection(url, { streamWindow: 1 << 20, connectionWindow: 1 << 20, ca: TEST_CERT });
      const response = get(trusted, '/tls');
      expect(await response.outcome).toEqual({ kind: 'end' });
      expect(response.bytes).toBe('over tls'.length);
      trusted.close();
      const untrusted = new H2Connection(url, { streamWindow: 1 << 20, connectionWindow: 1 << 20 });
      expect(await get(untrusted, '/tls').outcome).toEqual({ kind: 'error', message: expect.stringMatching(/self.signed/) });
    } finally {
      secure.close();
    }
  });
});
