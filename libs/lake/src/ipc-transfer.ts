import { AsyncByteQueue, RecordBatchStreamWriter, Table, type RecordBatch } from 'apache-arrow';

/** Buffers kept for reuse; past this many, the smallest is let go. */
const MAX_SPARE_BUFFERS = 8;
/** New buffers are rounded up to this, so that groups of slightly different sizes fit the same buffers. */
const BUFFER_GRAIN = 1 << 20;

/**
 * ArrayBuffers that travel to a worker and back. Memory the process has not touched before costs
 * a page fault and a page clearing per 4 KiB; a fresh buffer per message made that ~30% of the
 * archiver's main thread, so buffers the workers hand back are used again.
 */
export class TransferBuffers {
  private readonly spare: ArrayBuffer[] = [];

  /** A buffer of at least `size` bytes: the smallest spare one that fits, or a new one. */
  take(size: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      if (this.spare[i].byteLength >= size && (best < 0 || this.spare[i].byteLength < this.spare[best].byteLength)) best = i;
    }
    if (best >= 0) return this.spare.splice(best, 1)[0];
    return new ArrayBuffer(Math.ceil((size * 1.25) / BUFFER_GRAIN) * BUFFER_GRAIN);
  }

  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0) return; // detached, or never ours
    this.spare.push(buffer);
    if (this.spare.length > MAX_SPARE_BUFFERS) {
      const smallest = this.spare.reduce((min, b, i) => (b.byteLength < this.spare[min].byteLength ? i : min), 0);
      this.spare.splice(smallest, 1);
    }
  }
}

/** Collects the writer's output as it is written, without joining it. */
class ChunkSink extends AsyncByteQueue {
  readonly chunks: Uint8Array[] = [];
  byteLength = 0;

  override write(value: ArrayBufferView): void {
    if (value.byteLength === 0) return;
    this.chunks.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    this.byteLength += value.byteLength;
  }
}

/** The batches as one Arrow IPC stream, copied once into a buffer from `take` (which may be longer than the stream). */
export function ipcStreamInto(batches: RecordBatch[], take: (bytes: number) => ArrayBuffer): Uint8Array<ArrayBuffer> {
  const sink = new ChunkSink();
  const writer = new RecordBatchStreamWriter();
  writer.reset(sink);
  writer.writeAll(new Table(batches));
  const bytes = new Uint8Array(take(sink.byteLength), 0, sink.byteLength);
  let offset = 0;
  for (const chunk of sink.chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
