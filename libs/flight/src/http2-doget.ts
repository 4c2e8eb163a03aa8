import { status } from '@grpc/grpc-js';
import { FlightError, type FlightErrorCode } from './errors.js';
import { H2_CANCEL, H2_REFUSED_STREAM, H2Connection, type H2Headers, type H2Stream, type H2StreamHandler } from './h2-connection.js';
import type { WireFlightData } from './proto.js';
import { MiB } from './stream.js';

// DoGet runs on a client HTTP/2 connection of our own (h2-connection.ts) rather than grpc-js or
// node:http2, whose per-message and per-frame overheads made the client the bottleneck of bulk
// transfers. Each message is copied once, from the socket's read buffer into memory of its own.

const DOGET_PATH = '/arrow.flight.protocol.FlightService/DoGet';
/** HTTP/2 receive windows: the server streams several messages ahead instead of waiting on window updates. */
const STREAM_WINDOW = 32 * MiB;
const CONNECTION_WINDOW = 64 * MiB;
/** Decoded messages waiting for the reader before the stream is paused (flow control then holds the server back). */
const QUEUE_BYTES = 8 * MiB;
/** gRPC's message prefix: compressed flag and big-endian length. */
const PREFIX_BYTES = 5;
const EMPTY: Buffer = Buffer.alloc(0);

/** gRPC status for an HTTP status other than 200, per gRPC's HTTP-to-status mapping. */
function codeForHttpStatus(httpStatus: number): FlightErrorCode {
  if (httpStatus === 400) return 'INTERNAL';
  if (httpStatus === 401) return 'UNAUTHENTICATED';
  if (httpStatus === 403) return 'PERMISSION_DENIED';
  if (httpStatus === 404) return 'UNIMPLEMENTED';
  if (httpStatus === 429 || httpStatus === 502 || httpStatus === 503 || httpStatus === 504) return 'UNAVAILABLE';
  return 'UNKNOWN';
}

function percentDecode(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

/** The FlightError for a grpc-status header, or null for OK. */
function statusError(headers: H2Headers): FlightError | null {
  const code = Number(headers['grpc-status']);
  if (code === status.OK) return null;
  const message = percentDecode(headers['grpc-message'] ?? '');
  const name = Number.isInteger(code) ? status[code] : undefined;
  return new FlightError(typeof name === 'string' ? (name as FlightErrorCode) : 'UNKNOWN', message);
}

/** A gRPC request body: the Ticket message (field 1, bytes) behind the 5-byte message prefix. */
function ticketRequest(ticket: Buffer): Buffer {
  const lengthBytes: number[] = [];
  for (let n = ticket.byteLength; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      lengthBytes.push(n);
      break;
    }
    lengthBytes.push((n % 128) | 128);
  }
  const messageLength = 1 + lengthBytes.length + ticket.byteLength;
  const body = Buffer.allocUnsafe(5 + messageLength);
  body[0] = 0;
  body.writeUInt32BE(messageLength, 1);
  body[5] = (1 << 3) | 2;
  body.set(lengthBytes, 6);
  body.set(ticket, 6 + lengthBytes.length);
  return body;
}

/** Reads the protobuf fields of one FlightData; bytes fields come back as views of the message. */
export function decodeFlightDataMessage(bytes: Buffer): WireFlightData {
  let dataHeader = EMPTY;
  let appMetadata = EMPTY;
  let dataBody = EMPTY;
  let offset = 0;
  const varint = (): number => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (offset >= bytes.byteLength || scale > 2 ** 63) throw FlightError.internal('FlightData is not a valid protobuf message (bad varint)');
      const byte = bytes[offset++];
      value += (byte & 127) * scale;
      if (byte < 128) return value;
    }
  };
  while (offset < bytes.byteLength) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 2) {
      const length = varint();
      if (offset + length > bytes.byteLength) throw FlightError.internal(`FlightData field ${field} runs past the end of the message`);
      const value = bytes.subarray(offset, offset + length);
      offset += length;
      if (field === 2) dataHeader = value;
      else if (field === 3) appMetadata = value;
      else if (field === 1000) dataBody = value;
    } else if (wireType === 0) varint();
    else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else throw FlightError.internal(`FlightData field ${field} has unsupported wire type ${wireType}`);
  }
  if (offset > bytes.byteLength) throw FlightError.internal('FlightData ends inside a field');
  return { flightDescriptor: null, dataHeader, appMetadata, dataBody };
}

/**
 * Memory for one received message (with its 5-byte prefix), 8-byte aligned: the message is
 * written into it once and its record batch's buffers stay views of it.
 */
export type MessageAllocator = (bytes: number) => Uint8Array;

/**
 * Splits a gRPC response body (1-byte compressed flag, 4-byte big-endian length, message) into
 * messages. Chunks are the connection's read buffer, reused after each read: every message is
 * copied, together with its prefix, into memory of its own, as grpc-js lays it out: the server
 * pads data_header so that data_body is then 8-byte aligned and Arrow uses it in place instead of
 * copying it again to realign.
 */
export class GrpcMessageSplitter {
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixFill = 0;
  private partial: Buffer | null = null;
  private partialFill = 0;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly onMessage: (message: Buffer) => void,
    private readonly allocate: MessageAllocator = (bytes) => Buffer.allocUnsafe(bytes),
  ) {}

  /** True when the bytes seen so far end inside a message. */
  get midMessage(): boolean {
    return this.prefixFill > 0 || this.partial !== null;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.partial) {
        const take = Math.min(this.partial.byteLength - this.partialFill, chunk.byteLength - offset);
        chunk.copy(this.partial, this.partialFill, offset, offset + take);
        this.partialFill += take;
        offset += take;
        if (this.partialFill === this.partial.byteLength) {
          const message = this.partial.subarray(PREFIX_BYTES);
          this.partial = null;
          this.onMessage(message);
        }
        continue;
      }
      let compressed: number;
      let length: number;
      if (this.prefixFill === 0 && chunk.byteLength - offset >= PREFIX_BYTES) {
        compressed = chunk[offset];
        length = chunk.readUInt32BE(offset + 1);
        offset += PREFIX_BYTES;
      } else {
        const take = Math.min(PREFIX_BYTES - this.prefixFill, chunk.byteLength - offset);
        chunk.copy(this.prefix, this.prefixFill, offset, offset + take);
        this.prefixFill += take;
        offset += take;
        if (this.prefixFill < PREFIX_BYTES) return;
        this.prefixFill = 0;
        compressed = this.prefix[0];
        length = this.prefix.readUInt32BE(1);
      }
      if (compressed !== 0) throw FlightError.internal('the server sent a compressed message although the client accepts identity encoding only');
      if (length > this.maxMessageBytes) {
        throw FlightError.resourceExhausted(`Received message larger than max (${length} vs. ${this.maxMessageBytes})`);
      }
      if (length === 0) {
        this.onMessage(EMPTY);
        continue;
      }
      const memory = this.allocate(PREFIX_BYTES + length);
      this.partial = Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength);
      this.partial[0] = compressed;
      this.partial.writeUInt32BE(length, 1);
      this.partialFill = PREFIX_BYTES;
    }
  }
}

export interface DoGetCall {
  messages: AsyncGenerator<WireFlightData>;
  cancel: () => void;
}

/** DoGet calls over one HTTP/2 connection, opened on first use and reopened when the server goes away. */
export class Http2DoGet {
  private connection: H2Connection | null = null;
  private activeCalls = 0;
  private closed = false;
  private readonly origin: URL;

  constructor(
    origin: string,
    private readonly headers: Record<string, string>,
    private readonly maxMessageBytes: number,
  ) {
    this.origin = new URL(origin);
  }

  call(ticket: Buffer, signal?: AbortSignal, allocate?: MessageAllocator): DoGetCall {
    const call = new DoGetStream(this.maxMessageBytes, signal, () => this.callEnded(), allocate);
    if (signal?.aborted) {
      call.fail(FlightError.cancelled('DoGet was cancelled by the caller'));
      return call.handle();
    }
    if (this.closed) {
      call.fail(FlightError.unavailable('the Flight client is closed'));
      return call.handle();
    }
    const connection = this.connection?.open ? this.connection : this.connect();
    let stream: H2Stream;
    try {
      stream = connection.request(this.requestHeaders(), ticketRequest(ticket), call);
    } catch (err) {
      call.fail(FlightError.invalidArgument(`cannot send the DoGet request: ${(err as Error).message}`));
      return call.handle();
    }
    this.activeCalls++;
    connection.ref();
    call.attach(stream);
    return call.handle();
  }

  close(): void {
    this.closed = true;
    this.connection?.close();
    this.connection = null;
  }

  private callEnded(): void {
    this.activeCalls--;
    // An idle connection must not keep the process alive, as grpc-js channels do not.
    if (this.activeCalls === 0) this.connection?.unref();
  }

  private requestHeaders(): Array<[string, string]> {
    const headers: Array<[string, string]> = [
      [':method', 'POST'],
      [':scheme', this.origin.protocol === 'https:' ? 'https' : 'http'],
      [':path', DOGET_PATH],
      [':authority', this.origin.host],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-accept-encoding', 'identity'],
    ];
    for (const [key, value] of Object.entries(this.headers)) headers.push([key.toLowerCase(), value]);
    return headers;
  }

  private connect(): H2Connection {
    const connection: H2Connection = new H2Connection(this.origin, {
      streamWindow: STREAM_WINDOW,
      connectionWindow: CONNECTION_WINDOW,
      onUnusable: () => {
        if (this.connection === connection) this.connection = null;
      },
    });
    connection.unref();
    this.connection = connection;
    return connection;
  }
}

const messageBytes = (data: WireFlightData): number => data.dataHeader.byteLength + data.dataBody.byteLength + data.appMetadata.byteLength;

/** One DoGet response: messages queue up as they arrive, the stream pauses while the reader is behind. */
class DoGetStream implements H2StreamHandler {
  private stream: H2Stream | null = null;
  private readonly queue: WireFlightData[] = [];
  private queuedBytes = 0;
  private finished = false;
  private failure: FlightError | null = null;
  private responded = false;
  private trailerError: FlightError | null | undefined;
  private wake: (() => void) | null = null;
  private released = false;
  private readonly splitter: GrpcMessageSplitter;

  constructor(
    maxMessageBytes: number,
    private readonly signal: AbortSignal | undefined,
    private readonly onRelease: () => void,
    allocate?: MessageAllocator,
  ) {
    this.splitter = new GrpcMessageSplitter(maxMessageBytes, (message) => {
      const data = decodeFlightDataMessage(message);
      this.queue.push(data);
      this.queuedBytes += messageBytes(data);
      if (this.queuedBytes > QUEUE_BYTES) this.stream?.pause();
      this.notify();
    }, allocate);
  }

  attach(stream: H2Stream): void {
    this.stream = stream;
  }

  headers(headers: H2Headers, endStream: boolean): void {
    if (this.finished) return;
    if (this.responded || endStream) {
      // trailers, or a trailers-only response
      if (!this.responded && Number(headers[':status']) !== 200) return this.failOnHttpStatus(headers);
      this.trailerError = statusError(headers);
      return;
    }
    this.responded = true;
    if (Number(headers[':status']) !== 200) return this.failOnHttpStatus(headers);
    if (!headers['content-type']?.startsWith('application/grpc')) {
      this.fail(new FlightError('UNKNOWN', `the Flight server answered with content-type ${headers['content-type']}`));
    }
  }

  data(bytes: Buffer): void {
    if (this.finished) return;
    try {
      this.splitter.push(bytes);
    } catch (err) {
      this.fail(FlightError.fromGrpc(err));
    }
  }

  end(): void {
    if (this.trailerError === undefined) this.fail(FlightError.internal('the Flight server ended DoGet without a grpc-status'));
    else if (this.trailerError) this.fail(this.trailerError);
    else if (this.splitter.midMessage) this.fail(FlightError.internal('the DoGet response ended inside a message'));
    else this.finish();
  }

  reset(code: number): void {
    if (this.trailerError) this.fail(this.trailerError);
    else if (code === H2_REFUSED_STREAM) this.fail(FlightError.unavailable('the Flight server refused the DoGet stream'));
    else if (code === H2_CANCEL) this.fail(FlightError.cancelled('the Flight server cancelled DoGet'));
    else this.fail(FlightError.internal(`the DoGet stream closed without a status (HTTP/2 code ${code})`));
  }

  error(error: Error): void {
    this.fail(FlightError.unavailable(`DoGet stream failed: ${error.message}`));
  }

  fail(error: FlightError): void {
    if (this.finished) return;
    this.failure = error;
    this.finish();
  }

  handle(): DoGetCall {
    return { messages: this.messages(), cancel: () => this.cancel() };
  }

  private failOnHttpStatus(headers: H2Headers): void {
    const httpStatus = Number(headers[':status']);
    this.fail(new FlightError(codeForHttpStatus(httpStatus), `the Flight server answered HTTP ${httpStatus}`));
  }

  private cancel(): void {
    this.queue.length = 0;
    this.fail(FlightError.cancelled('DoGet was cancelled by the caller'));
  }

  private finish(): void {
    this.finished = true;
    const stream = this.stream;
    if (stream && !stream.closed && this.failure) stream.cancel();
    if (!this.released && stream) {
      this.released = true;
      this.onRelease();
    }
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async *messages(): AsyncGenerator<WireFlightData> {
    const onAbort = (): void => this.cancel();
    this.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          this.queuedBytes -= messageBytes(next);
          if (this.queuedBytes <= QUEUE_BYTES / 2) this.stream?.resume();
          yield next;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.finished) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
      if (!this.finished) this.cancel();
    }
  }
}
