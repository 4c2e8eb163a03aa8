import {
  AsyncByteQueue,
  DataType,
  Message,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  type Data,
  type RecordBatch,
} from 'apache-arrow';
import { FlightError } from './errors.js';
import type { OutgoingFlightData, WireFlightData } from './proto.js';

const CONTINUATION = 0xffffffff;
const EMPTY = new Uint8Array(0);

/** Collects what the Arrow stream writer emits, synchronously, instead of queueing it. */
class CollectingSink extends AsyncByteQueue {
  private chunks: Uint8Array[] = [];
  closedByWriter = false;

  override write(value: Uint8Array): void {
    this.chunks.push(value);
  }

  override close(): void {
    this.closedByWriter = true;
  }

  take(): Uint8Array[] {
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }
}

/** Reads byte ranges across a list of chunks, as views where possible. */
class ChunkCursor {
  private index = 0;
  private offset = 0;

  constructor(private readonly chunks: Uint8Array[]) {}

  get done(): boolean {
    return this.index >= this.chunks.length;
  }

  take(length: number): Uint8Array[] {
    const parts: Uint8Array[] = [];
    while (length > 0) {
      const chunk = this.chunks[this.index];
      if (!chunk) throw new Error(`Arrow IPC writer output ended ${length} bytes early`);
      const available = chunk.byteLength - this.offset;
      if (available <= length) {
        parts.push(this.offset === 0 ? chunk : chunk.subarray(this.offset));
        length -= available;
        this.index++;
        this.offset = 0;
      } else {
        parts.push(chunk.subarray(this.offset, this.offset + length));
        this.offset += length;
        length = 0;
      }
    }
    return parts;
  }

  takeJoined(length: number): Uint8Array {
    const parts = this.take(length);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}

function int32At(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

/** Splits the encapsulated IPC messages (continuation, length, metadata, body) of a writer's output. */
function splitMessages(chunks: Uint8Array[]): OutgoingFlightData[] {
  const cursor = new ChunkCursor(chunks);
  const messages: OutgoingFlightData[] = [];
  while (!cursor.done) {
    let length = int32At(cursor.takeJoined(4));
    if (length === CONTINUATION) length = int32At(cursor.takeJoined(4));
    if (length === 0) break; // end-of-stream marker; Flight ends the stream with the RPC
    // The writer emits the flatbuffer and its alignment padding as separate chunks.
    const metadata = cursor.take(length);
    const header = metadata.length === 2 && metadata[1].every((byte) => byte === 0) ? metadata[0] : Buffer.concat(metadata);
    const bodyLength = Message.decode(header).bodyLength;
    messages.push({ header, body: cursor.take(bodyLength), bodyLength });
  }
  return messages;
}

/** Approximate IPC body size of one column's data (sliced arrays count only their rows). */
function dataBytes(data: Data): number {
  let bytes = data.nullCount > 0 ? Math.ceil(data.length / 8) : 0;
  const { valueOffsets, values } = data;
  if (DataType.isBool(data.type)) return bytes + Math.ceil(data.length / 8);
  if (data.typeIds) {
    // unions: type ids, dense unions' offsets (one per row, not n + 1 as for lists), every member
    bytes += data.typeIds.byteLength + (valueOffsets?.byteLength ?? 0);
    for (const child of data.children) bytes += dataBytes(child);
    return bytes;
  }
  if (valueOffsets) {
    const first = Number(valueOffsets[0]);
    const span = Number(valueOffsets[data.length]) - first;
    bytes += valueOffsets.byteLength;
    if (values) bytes += span * values.BYTES_PER_ELEMENT;
    for (const child of data.children) bytes += child.length > 0 ? (dataBytes(child) * span) / child.length : 0;
    return bytes;
  }
  if (values) bytes += values.byteLength;
  for (const child of data.children) bytes += dataBytes(child);
  return bytes;
}

function batchBytes(batch: RecordBatch): number {
  return batch.data.children.reduce((sum, child) => sum + dataBytes(child), 0);
}

export interface EncoderLimits {
  /** Record batches larger than this are sliced into several messages. */
  targetMessageBytes: number;
  /** No FlightData may exceed this (the receiver's message size limit). */
  maxMessageBytes: number;
}

/**
 * Turns a schema and its record batches into FlightData messages: the schema message first,
 * dictionary batches (initial, replacement or delta, as the Arrow writer decides) before the
 * record batch that uses them, oversized batches sliced by rows.
 */
export class FlightDataEncoder {
  private readonly sink = new CollectingSink();
  private readonly writer = new RecordBatchStreamWriter();
  private readonly schemaMessage: OutgoingFlightData;

  constructor(
    private readonly schema: Schema,
    private readonly limits: EncoderLimits,
  ) {
    this.writer.reset(this.sink, schema);
    const [message] = splitMessages(this.sink.take());
    this.schemaMessage = message;
  }

  /** The schema message; it must be sent first. */
  start(): OutgoingFlightData {
    return this.schemaMessage;
  }

  *encode(batch: RecordBatch): Generator<OutgoingFlightData> {
    for (const piece of this.slice(batch)) {
      this.writer.write(piece);
      if (this.sink.closedByWriter) {
        throw FlightError.internal(`record batch schema ${piece.schema} differs from the stream schema ${this.schema}`);
      }
      for (const message of splitMessages(this.sink.take())) {
        const size = message.header.byteLength + message.bodyLength + 16;
        if (size > this.limits.maxMessageBytes) {
          throw FlightError.resourceExhausted(
            `an Arrow IPC message of ${size} bytes (a single row or dictionary) exceeds the ${this.limits.maxMessageBytes}-byte message limit`,
          );
        }
        yield message;
      }
    }
  }

  private slice(batch: RecordBatch): RecordBatch[] {
    const bytes = batchBytes(batch);
    if (bytes <= this.limits.targetMessageBytes || batch.numRows <= 1) return [batch];
    const pieces = Math.ceil(bytes / this.limits.targetMessageBytes);
    const rows = Math.ceil(batch.numRows / pieces);
    const slices: RecordBatch[] = [];
    for (let start = 0; start < batch.numRows; start += rows) slices.push(batch.slice(start, start + rows));
    return slices;
  }
}

/** The schema as an encapsulated IPC message (continuation, length, Schema flatbuffer), as FlightInfo and SchemaResult carry it. */
export function schemaToIpc(schema: Schema): Buffer {
  const sink = new CollectingSink();
  new RecordBatchStreamWriter().reset(sink, schema);
  return Buffer.concat(sink.take());
}

/** Parses an encapsulated IPC schema message (with or without the continuation marker). */
export function schemaFromIpc(bytes: Uint8Array): Schema {
  if (bytes.byteLength === 0) return new Schema([]);
  try {
    const reader = RecordBatchReader.from(bytes);
    reader.open();
    if (reader.schema) return reader.schema;
  } catch (err) {
    throw FlightError.invalidArgument(`schema is not an Arrow IPC schema message: ${(err as Error).message}`);
  }
  throw FlightError.invalidArgument('schema is not an Arrow IPC schema message');
}

/** Re-creates the IPC stream framing around FlightData so Arrow's reader consumes it message by message. */
async function* ipcStream(messages: AsyncIterable<WireFlightData>): AsyncGenerator<Uint8Array> {
  for await (const message of messages) {
    const { dataHeader, dataBody } = message;
    if (dataHeader.byteLength === 0) continue; // metadata-only message
    const prefix = Buffer.allocUnsafe(8);
    prefix.writeUInt32LE(CONTINUATION, 0);
    prefix.writeUInt32LE(dataHeader.byteLength, 4);
    yield prefix;
    yield dataHeader;
    if (dataBody.byteLength > 0) yield dataBody;
    // Arrow's byte-stream adapter asks its source for one more chunk before it hands out a
    // read that exactly drains its buffer. An empty chunk answers that at once, so each record
    // batch is released when its own message arrives, not when the next one does (and is not
    // lost when the next thing to arrive is an error status).
    yield EMPTY;
  }
}

export interface DecodedStream {
  schema: Schema;
  batches: AsyncIterable<RecordBatch>;
}

/**
 * Record batches until the stream ends. Leaving early calls `abandon`: Arrow's reader does not
 * pass an early return down to its byte source, so the transport would never hear of it.
 */
async function* batchStream(reader: AsyncIterable<RecordBatch>, abandon: () => void): AsyncGenerator<RecordBatch> {
  let complete = false;
  try {
    for await (const batch of reader) yield batch;
    complete = true;
  } finally {
    if (!complete) abandon();
  }
}

/** Reads a FlightData stream (schema message first) into a schema and a lazy stream of record batches. */
export async function decodeFlightData(messages: AsyncIterable<WireFlightData>, abandon: () => void = () => undefined): Promise<DecodedStream> {
  const reader = await RecordBatchReader.from(ipcStream(messages));
  await reader.open();
  if (!reader.schema) throw FlightError.invalidArgument('the FlightData stream ended before its schema message');
  return { schema: reader.schema, batches: batchStream(reader as AsyncIterable<RecordBatch>, abandon) };
}
