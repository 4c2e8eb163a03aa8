import type { Writable } from 'node:stream';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import { grpcFlightDataParts, type OutgoingFlightData } from './proto.js';
import { drained } from './stream.js';

/**
 * DoGet's FlightData written straight to the call's HTTP/2 stream. grpc-js frames every response
 * message by allocating a buffer of its size and copying the message into it; for bulk data that
 * copy is most of what the server does beyond the socket. Here the gRPC prefix and the protobuf
 * fields go in one small buffer and the Arrow body follows as the views the IPC writer produced,
 * in one writev that Node's HTTP/2 sends without copying. grpc-js still sends the response
 * headers (sendMetadata) and the status trailers (end), after the data already queued.
 *
 * The stream is reached through grpc-js internals (the version is pinned); when they do not look
 * as expected, `open` returns null and DoGet takes grpc-js's own path.
 */
export class DirectFlightDataWriter {
  private pendingWrites = 0;
  private onIdle: Array<() => void> = [];

  private constructor(private readonly stream: Writable) {}

  static open(call: ServerWritableStream<unknown, unknown>): DirectFlightDataWriter | null {
    const stream = http2StreamOf(call);
    if (!stream) return null;
    call.sendMetadata(new Metadata());
    return new DirectFlightDataWriter(stream);
  }

  /** False once the stream is gone (the client cancelled or the connection dropped): stop writing. */
  get writable(): boolean {
    return !this.stream.destroyed && !this.stream.writableEnded;
  }

  write(message: OutgoingFlightData, signal?: AbortSignal): Promise<void> | void {
    const { stream } = this;
    let room = true;
    stream.cork();
    // A failed write also destroys the stream, which `writable` reports; grpc-js answers the call.
    for (const part of grpcFlightDataParts(message)) {
      this.pendingWrites++;
      room = stream.write(part, this.written);
    }
    stream.uncork();
    if (!room) return drained(stream, signal);
  }

  /** Resolves once every write so far has completed or failed: none holds a view of its data any more. */
  settled(): Promise<void> {
    if (this.pendingWrites === 0) return Promise.resolve();
    return new Promise((resolve) => this.onIdle.push(resolve));
  }

  private readonly written = (): void => {
    if (--this.pendingWrites > 0) return;
    const waiting = this.onIdle;
    this.onIdle = [];
    for (const resolve of waiting) resolve();
  };
}

/** The ServerHttp2Stream under grpc-js's call objects (ServerWritableStreamImpl → interceptors → base call). */
function http2StreamOf(call: ServerWritableStream<unknown, unknown>): Writable | null {
  let inner: unknown = (call as unknown as { call?: unknown }).call;
  for (let depth = 0; inner && typeof inner === 'object' && depth < 16; depth++) {
    const stream = (inner as { stream?: Partial<Writable & { respond: unknown; sendTrailers: unknown }> }).stream;
    if (stream && typeof stream.respond === 'function' && typeof stream.sendTrailers === 'function' && typeof stream.cork === 'function') {
      return stream as Writable;
    }
    inner = (inner as { nextCall?: unknown }).nextCall;
  }
  return null;
}
