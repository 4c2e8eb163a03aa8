// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- hpack.js has no types, and every project that compiles this file (through the path alias) needs them
/// <reference path="./hpack.d.ts" />
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import hpack from 'hpack.js';

/*
 * The client side of one HTTP/2 connection (RFC 9113), as much of it as a gRPC client that sends
 * small requests and streams large responses needs. It exists for speed: node:http2 copies every
 * socket read once more, and calls into JavaScript, through a Readable stream, for every 16 KiB
 * DATA frame. Here the socket reads into one reused buffer and DATA payloads go straight to the
 * stream's handler, which copies them once, into their final place.
 *
 * Response headers are decoded with hpack.js; request headers are sent as literals, never indexed
 * and never Huffman-coded, so this side keeps no HPACK table. Server push is refused (SETTINGS).
 */

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER_BYTES = 9;

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

const H2_NO_ERROR = 0x0;
const H2_PROTOCOL_ERROR = 0x1;
const H2_FLOW_CONTROL_ERROR = 0x3;
const H2_FRAME_SIZE_ERROR = 0x6;
export const H2_REFUSED_STREAM = 0x7;
export const H2_CANCEL = 0x8;
const H2_COMPRESSION_ERROR = 0x9;

/** The frame size every peer accepts (and the largest this side accepts). */
const MIN_MAX_FRAME_SIZE = 16_384;
const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;
const MAX_STREAM_ID = 2 ** 31 - 1;
const HEADER_TABLE_BYTES = 4096;
/** Largest header block (HEADERS and its CONTINUATIONs) accepted, also announced as SETTINGS_MAX_HEADER_LIST_SIZE. */
const MAX_HEADER_BLOCK_BYTES = 256 * 1024;
const READ_BUFFER_BYTES = 256 * 1024;

export type H2Headers = Record<string, string>;

/** What a stream reports; `data` bytes are only valid during the call (they are the connection's read buffer). */
export interface H2StreamHandler {
  headers(headers: H2Headers, endStream: boolean): void;
  data(bytes: Buffer): void;
  end(): void;
  reset(code: number): void;
  /** The connection failed or went away before the stream ended. */
  error(error: Error): void;
}

export interface H2ConnectionOptions {
  /** Receive window of each stream; at least 65,535. */
  streamWindow: number;
  /** Receive window of the connection. */
  connectionWindow: number;
  /** Called once, when the connection can take no more streams (GOAWAY, failure or close). */
  onUnusable?: () => void;
  /** For https: certificate authorities to trust instead of Node's default ones. */
  ca?: string | Buffer;
}

class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  out.writeUIntBE(payload.byteLength, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  payload.copy(out, FRAME_HEADER_BYTES);
  return out;
}

function uint32s(...values: number[]): Buffer {
  const out = Buffer.allocUnsafe(4 * values.length);
  values.forEach((value, i) => out.writeUInt32BE(value, 4 * i));
  return out;
}

/** HPACK integer with an n-bit prefix (RFC 7541, 5.1). */
function hpackInteger(value: number, prefixBits: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(value);
    return;
  }
  out.push(max);
  for (value -= max; value >= 128; value = Math.floor(value / 128)) out.push((value % 128) | 128);
  out.push(value);
}

/** A header block of literal fields without indexing, new names, no Huffman coding (RFC 7541, 6.2.2). */
export function encodeHeaderBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    const nameLength: number[] = [];
    const valueLength: number[] = [];
    hpackInteger(nameBytes.byteLength, 7, nameLength);
    hpackInteger(valueBytes.byteLength, 7, valueLength);
    parts.push(Buffer.from([0x00, ...nameLength]), nameBytes, Buffer.from(valueLength), valueBytes);
  }
  return Buffer.concat(parts);
}

/** One request stream of a connection. */
export class H2Stream {
  /** Received bytes not yet handed back to the server as window. */
  received = 0;
  private paused = false;
  closed = false;

  constructor(
    readonly id: number,
    private readonly connection: H2Connection,
    readonly handler: H2StreamHandler,
  ) {}

  get isPaused(): boolean {
    return this.paused;
  }

  /** Stops returning window to the server: it stops once it has sent a window's worth. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.connection.returnStreamWindow(this, true);
  }

  /** Resets the stream (RST_STREAM CANCEL); no handler is called afterwards. */
  cancel(): void {
    if (this.closed) return;
    this.connection.resetStream(this, H2_CANCEL);
  }
}

type ReadState = 'header' | 'padLength' | 'data' | 'control';

/** The client side of one HTTP/2 connection: see the top of this file. */
export class H2Connection {
  private readonly socket: Socket;
  private readonly streams = new Map<number, H2Stream>();
  private readonly decompressor = hpack.decompressor.create({ table: { maxSize: HEADER_TABLE_BYTES } });
  private hpackError: Error | null = null;
  private nextStreamId = 1;
  private usable = true;
  private closing = false;
  private failure: Error | null = null;
  private peerMaxFrameSize = MIN_MAX_FRAME_SIZE;
  private peerInitialWindow = DEFAULT_WINDOW;
  private connectionReceived = 0;

  // Frame parsing: the frame being read and where in it the reader is.
  private state: ReadState = 'header';
  private readonly frameHeader = Buffer.alloc(FRAME_HEADER_BYTES);
  private frameHeaderFill = 0;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  /** Bytes of the current frame's payload not read yet. */
  private payloadLeft = 0;
  /** Of a DATA frame: payload bytes before its padding not read yet. */
  private dataLeft = 0;
  private dataStream: H2Stream | undefined;
  /** The payload of a frame other than DATA, at most MIN_MAX_FRAME_SIZE bytes. */
  private readonly control = Buffer.allocUnsafe(MIN_MAX_FRAME_SIZE);
  private controlFill = 0;
  /** A header block awaiting CONTINUATION frames. */
  private headerBlock: { streamId: number; endStream: boolean; parts: Buffer[]; bytes: number } | null = null;

  constructor(
    origin: URL,
    private readonly options: H2ConnectionOptions,
  ) {
    const port = Number(origin.port || (origin.protocol === 'https:' ? 443 : 80));
    const host = origin.hostname.replace(/^\[|\]$/g, '');
    if (origin.protocol === 'https:') {
      const socket = tlsConnect({ host, port, servername: isIP(host) ? undefined : host, ALPNProtocols: ['h2'], ca: options.ca });
      socket.once('secureConnect', () => {
        if (socket.alpnProtocol !== 'h2') this.destroy(new Error(`the server at ${origin.host} does not speak HTTP/2 over TLS (ALPN ${String(socket.alpnProtocol)})`));
      });
      socket.on('data', (chunk: Buffer) => this.receive(chunk, chunk.byteLength));
      this.socket = socket;
    } else {
      // Reads land in one buffer, reused: everything is copied out of it before the callback returns.
      const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
      this.socket = netConnect({
        host,
        port,
        onread: {
          buffer: readBuffer,
          callback: (bytes) => {
            this.receive(readBuffer, bytes);
            return true;
          },
        },
      });
      this.socket.setNoDelay(true);
    }
    this.socket.on('error', (error) => this.destroy(error));
    this.socket.on('close', () => this.destroy(new Error('the connection closed')));
    const settings = Buffer.allocUnsafe(6 * 4);
    [
      [SETTINGS_ENABLE_PUSH, 0],
      [SETTINGS_INITIAL_WINDOW_SIZE, options.streamWindow],
      [SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BLOCK_BYTES],
      [SETTINGS_HEADER_TABLE_SIZE, HEADER_TABLE_BYTES],
    ].forEach(([id, value], i) => {
      settings.writeUInt16BE(id, 6 * i);
      settings.writeUInt32BE(value, 6 * i + 2);
    });
    this.socket.cork();
    this.socket.write(PREFACE);
    this.socket.write(frame(SETTINGS, 0, 0, settings));
    if (options.connectionWindow > DEFAULT_WINDOW) this.socket.write(frame(WINDOW_UPDATE, 0, 0, uint32s(options.connectionWindow - DEFAULT_WINDOW)));
    this.socket.uncork();
    this.decompressor.on('error', (error) => (this.hpackError = error));
  }

  /** True while new streams may be opened. */
  get open(): boolean {
    return this.usable;
  }

  /** Opens a stream: sends the headers and the whole (small) body, ending the request side. */
  request(headers: ReadonlyArray<readonly [string, string]>, body: Buffer, handler: H2StreamHandler): H2Stream {
    if (!this.usable) throw new Error(this.failure ? `the connection failed: ${this.failure.message}` : 'the connection is closing');
    if (body.byteLength > Math.min(this.peerInitialWindow, DEFAULT_WINDOW)) {
      throw new Error(`the request body has ${body.byteLength} bytes, more than the server's flow-control window lets a request send at once`);
    }
    const stream = new H2Stream(this.nextStreamId, this, handler);
    this.nextStreamId += 2;
    if (this.nextStreamId > MAX_STREAM_ID) this.goUnusable();
    this.streams.set(stream.id, stream);
    const block = encodeHeaderBlock(headers);
    this.socket.cork();
    for (let offset = 0; offset === 0 || offset < block.byteLength; offset += this.peerMaxFrameSize) {
      const last = offset + this.peerMaxFrameSize >= block.byteLength;
      this.socket.write(frame(offset === 0 ? HEADERS : CONTINUATION, last ? END_HEADERS : 0, stream.id, block.subarray(offset, offset + this.peerMaxFrameSize)));
    }
    for (let offset = 0; offset === 0 || offset < body.byteLength; offset += this.peerMaxFrameSize) {
      const last = offset + this.peerMaxFrameSize >= body.byteLength;
      this.socket.write(frame(DATA, last ? END_STREAM : 0, stream.id, body.subarray(offset, offset + this.peerMaxFrameSize)));
    }
    this.socket.uncork();
    return stream;
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  /** Takes no new streams; the connection closes once its streams have ended. */
  close(): void {
    this.goUnusable();
    this.closing = true;
    if (this.streams.size === 0) this.shutdown();
  }

  /** Writes unless the socket is already ending: a late control frame after GOAWAY is dropped, not an error. */
  private send(bytes: Buffer): void {
    if (!this.socket.writableEnded && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** @internal Hands a stream's received bytes back to the server once they add up to half its window (or at once, on resume). */
  returnStreamWindow(stream: H2Stream, now: boolean): void {
    if (stream.closed || stream.isPaused || stream.received === 0) return;
    if (!now && stream.received < this.options.streamWindow / 2) return;
    this.send(frame(WINDOW_UPDATE, 0, stream.id, uint32s(stream.received)));
    stream.received = 0;
  }

  /** @internal */
  resetStream(stream: H2Stream, code: number): void {
    this.send(frame(RST_STREAM, 0, stream.id, uint32s(code)));
    this.forget(stream);
  }

  private forget(stream: H2Stream): void {
    stream.closed = true;
    this.streams.delete(stream.id);
    if (this.closing && this.streams.size === 0) this.shutdown();
  }

  private shutdown(): void {
    this.send(frame(GOAWAY, 0, 0, uint32s(0, H2_NO_ERROR)));
    if (!this.socket.destroyed) this.socket.end();
  }

  private goUnusable(): void {
    if (!this.usable) return;
    this.usable = false;
    this.options.onUnusable?.();
  }

  /** Fails every open stream and closes the socket. */
  private destroy(error: Error): void {
    this.failure ??= error;
    this.goUnusable();
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) {
      stream.closed = true;
      stream.handler.error(error);
    }
    this.socket.destroy();
  }

  private receive(buffer: Buffer, bytes: number): void {
    if (this.socket.destroyed) return;
    this.socket.cork();
    try {
      this.parse(buffer, bytes);
      if (this.connectionReceived >= this.options.connectionWindow / 2) {
        this.send(frame(WINDOW_UPDATE, 0, 0, uint32s(this.connectionReceived)));
        this.connectionReceived = 0;
      }
    } catch (error) {
      const code = error instanceof ProtocolError ? error.code : H2_PROTOCOL_ERROR;
      this.send(frame(GOAWAY, 0, 0, uint32s(0, code)));
      this.socket.uncork();
      this.destroy(new Error(`HTTP/2 protocol error from the server: ${(error as Error).message}`));
      return;
    }
    this.socket.uncork();
  }

  private parse(buffer: Buffer, bytes: number): void {
    let offset = 0;
    while (offset < bytes) {
      if (this.state === 'header') {
        const take = Math.min(FRAME_HEADER_BYTES - this.frameHeaderFill, bytes - offset);
        buffer.copy(this.frameHeader, this.frameHeaderFill, offset, offset + take);
        this.frameHeaderFill += take;
        offset += take;
        if (this.frameHeaderFill < FRAME_HEADER_BYTES) return;
        this.frameHeaderFill = 0;
        this.startFrame();
        if (this.payloadLeft === 0) this.endFrame();
        continue;
      }
      if (this.state === 'padLength') {
        const padding = buffer[offset++];
        this.payloadLeft--;
        this.dataLeft = this.payloadLeft - padding;
        if (this.dataLeft < 0) throw new ProtocolError(H2_PROTOCOL_ERROR, 'DATA padding is longer than the frame');
        this.state = 'data';
      } else if (this.state === 'data') {
        const take = Math.min(this.dataLeft, bytes - offset);
        if (take > 0 && this.dataStream && !this.dataStream.closed) this.dataStream.handler.data(buffer.subarray(offset, offset + take));
        this.dataLeft -= take;
        const skip = Math.min(this.payloadLeft - take - this.dataLeft, bytes - offset - take); // padding
        offset += take + skip;
        this.payloadLeft -= take + skip;
      } else {
        const take = Math.min(this.payloadLeft, bytes - offset);
        buffer.copy(this.control, this.controlFill, offset, offset + take);
        this.controlFill += take;
        this.payloadLeft -= take;
        offset += take;
      }
      if (this.payloadLeft === 0) this.endFrame();
    }
  }

  private startFrame(): void {
    const header = this.frameHeader;
    this.payloadLeft = header.readUIntBE(0, 3);
    this.type = header[3];
    this.flags = header[4];
    this.streamId = header.readUInt32BE(5) & 0x7fffffff;
    if (this.payloadLeft > MIN_MAX_FRAME_SIZE) throw new ProtocolError(H2_FRAME_SIZE_ERROR, `a frame of ${this.payloadLeft} bytes, over the ${MIN_MAX_FRAME_SIZE} allowed`);
    if (this.headerBlock && this.type !== CONTINUATION) throw new ProtocolError(H2_PROTOCOL_ERROR, 'a header block was interrupted by another frame');
    if (this.type === DATA) {
      if (this.streamId === 0) throw new ProtocolError(H2_PROTOCOL_ERROR, 'DATA on stream 0');
      this.connectionReceived += this.payloadLeft;
      this.dataStream = this.streams.get(this.streamId);
      if (this.dataStream) this.dataStream.received += this.payloadLeft;
      this.dataLeft = this.payloadLeft;
      this.state = this.flags & PADDED && this.payloadLeft > 0 ? 'padLength' : 'data';
    } else {
      this.controlFill = 0;
      this.state = 'control';
    }
  }

  private endFrame(): void {
    this.state = 'header';
    if (this.type === DATA) {
      const stream = this.dataStream;
      this.dataStream = undefined;
      if (!stream || stream.closed) return;
      if (this.flags & END_STREAM) {
        this.forget(stream);
        stream.handler.end();
      } else {
        this.returnStreamWindow(stream, false);
      }
      return;
    }
    const payload = this.control.subarray(0, this.controlFill);
    switch (this.type) {
      case HEADERS:
        return this.onHeaders(payload);
      case CONTINUATION:
        return this.onContinuation(payload);
      case RST_STREAM:
        return this.onReset(payload);
      case SETTINGS:
        return this.onSettings(payload);
      case PUSH_PROMISE:
        throw new ProtocolError(H2_PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled');
      case PING:
        if (payload.byteLength !== 8) throw new ProtocolError(H2_FRAME_SIZE_ERROR, 'a PING frame that is not 8 bytes');
        if (!(this.flags & ACK)) this.send(frame(PING, ACK, 0, Buffer.from(payload)));
        return;
      case GOAWAY:
        return this.onGoaway(payload);
      case WINDOW_UPDATE:
        // Requests are sent whole within the initial window; nothing waits for send window.
        if (payload.byteLength !== 4) throw new ProtocolError(H2_FRAME_SIZE_ERROR, 'a WINDOW_UPDATE frame that is not 4 bytes');
        return;
      default:
        return; // PRIORITY and unknown frame types are ignored
    }
  }

  private onHeaders(payload: Buffer): void {
    if (this.streamId === 0) throw new ProtocolError(H2_PROTOCOL_ERROR, 'HEADERS on stream 0');
    let start = 0;
    let end = payload.byteLength;
    if (this.flags & PADDED) {
      end -= payload[0];
      start = 1;
    }
    if (this.flags & PRIORITY) start += 5;
    if (start > end) throw new ProtocolError(H2_PROTOCOL_ERROR, 'HEADERS padding is longer than the frame');
    const fragment = Buffer.from(payload.subarray(start, end));
    this.headerBlock = { streamId: this.streamId, endStream: (this.flags & END_STREAM) !== 0, parts: [fragment], bytes: fragment.byteLength };
    if (this.flags & END_HEADERS) this.endHeaderBlock();
  }

  private onContinuation(payload: Buffer): void {
    const block = this.headerBlock;
    if (!block || block.streamId !== this.streamId) throw new ProtocolError(H2_PROTOCOL_ERROR, 'CONTINUATION without the HEADERS it continues');
    block.parts.push(Buffer.from(payload));
    block.bytes += payload.byteLength;
    if (block.bytes > MAX_HEADER_BLOCK_BYTES) throw new ProtocolError(H2_PROTOCOL_ERROR, `a header block over ${MAX_HEADER_BLOCK_BYTES} bytes`);
    if (this.flags & END_HEADERS) this.endHeaderBlock();
  }

  private endHeaderBlock(): void {
    const block = this.headerBlock!;
    this.headerBlock = null;
    // Decoded even for streams already gone: the decoder's table must see every block.
    this.decompressor.write(Buffer.concat(block.parts));
    this.decompressor.execute();
    if (this.hpackError) throw new ProtocolError(H2_COMPRESSION_ERROR, `cannot decode a header block: ${this.hpackError.message}`);
    const headers: H2Headers = {};
    for (let header = this.decompressor.read(); header !== null; header = this.decompressor.read()) {
      headers[header.name] = header.name in headers ? `${headers[header.name]}, ${header.value}` : header.value;
    }
    const stream = this.streams.get(block.streamId);
    if (!stream) return;
    if (block.endStream) this.forget(stream);
    stream.handler.headers(headers, block.endStream);
    if (block.endStream) stream.handler.end();
  }

  private onReset(payload: Buffer): void {
    if (payload.byteLength !== 4) throw new ProtocolError(H2_FRAME_SIZE_ERROR, 'a RST_STREAM frame that is not 4 bytes');
    const stream = this.streams.get(this.streamId);
    if (!stream) return;
    this.forget(stream);
    stream.handler.reset(payload.readUInt32BE(0));
  }

  private onSettings(payload: Buffer): void {
    if (this.flags & ACK) return;
    if (payload.byteLength % 6 !== 0) throw new ProtocolError(H2_FRAME_SIZE_ERROR, 'a SETTINGS frame whose length is not a multiple of 6');
    for (let i = 0; i < payload.byteLength; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ProtocolError(H2_FLOW_CONTROL_ERROR, `initial window size ${value} is over 2^31-1`);
        this.peerInitialWindow = value;
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        if (value < MIN_MAX_FRAME_SIZE || value > 2 ** 24 - 1) throw new ProtocolError(H2_PROTOCOL_ERROR, `max frame size ${value} is out of range`);
        this.peerMaxFrameSize = value;
      }
    }
    this.send(frame(SETTINGS, ACK, 0));
  }

  private onGoaway(payload: Buffer): void {
    if (payload.byteLength < 8) throw new ProtocolError(H2_FRAME_SIZE_ERROR, 'a GOAWAY frame shorter than 8 bytes');
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    const debug = payload.subarray(8).toString('utf8');
    this.goUnusable();
    this.closing = true;
    for (const stream of [...this.streams.values()]) {
      if (stream.id <= lastStreamId) continue;
      this.forget(stream);
      stream.handler.reset(H2_REFUSED_STREAM);
    }
    if (code !== H2_NO_ERROR) this.failure ??= new Error(`the server went away (HTTP/2 code ${code}${debug ? `: ${debug}` : ''})`);
    if (this.streams.size === 0) this.shutdown();
  }
}
