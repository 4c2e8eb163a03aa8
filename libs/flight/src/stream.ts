import type { Writable } from 'node:stream';

/**
 * Writes one message, waiting for the stream to drain when its buffer is full. Resolves early
 * when the signal aborts or the stream closes, because a cancelled gRPC call never drains.
 */
export function writeMessage(stream: Writable, message: unknown, signal?: AbortSignal): Promise<void> | void {
  if (stream.write(message)) return;
  return drained(stream, signal);
}

/** Resolves on the stream's next 'drain', or early when it closes or the signal aborts. */
export function drained(stream: Writable, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    signal?.addEventListener('abort', done);
  });
}

export const MiB = 1024 * 1024;
/** Default limit on one gRPC message, both directions. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * MiB;
/**
 * Record batches are sliced into FlightData of about this size: large enough to keep
 * per-message overhead low, and under the 4 MiB receive limit of default gRPC clients.
 */
export const TARGET_MESSAGE_BYTES = 2 * MiB;

export function targetMessageBytes(maxMessageBytes: number): number {
  return Math.min(TARGET_MESSAGE_BYTES, Math.floor(maxMessageBytes / 2));
}
