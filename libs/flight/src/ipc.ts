import {
  AsyncByteQueue,
  DataType,
  makeData,
  Message,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Vector,
  type Data,
  type Field,
} from 'apache-arrow';
import type { RecordBatch as IpcRecordBatch } from 'apache-arrow/ipc/metadata/message';
import { VectorLoader } from 'apache-arrow/visitor/vectorloader';
import { FlightError } from './errors.js';
import type { OutgoingFlightData, WireFlightData } from './proto.js';

const CONTINUATION = 0xffffffff;

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

export interface DecodedStream {
  schema: Schema;
  batches: AsyncIterable<RecordBatch>;
}

/**
 * Turns FlightData into Arrow objects message by message, as Arrow's stream reader does but
 * without re-creating an IPC byte stream for it: each message's flatbuffer is decoded in place
 * and the record batch's buffers are views of `data_body` (copied only when it is not 8-byte
 * aligned: our servers pad `data_header` so that it is).
 */
class FlightDataDecoder {
  schema: Schema | null = null;
  private readonly dictionaries = new Map<number, Vector>();

  /** The record batch a message carries, or null for a schema, dictionary or metadata-only message. */
  decode({ dataHeader, dataBody }: WireFlightData): RecordBatch | null {
    if (dataHeader.byteLength === 0) return null;
    let message: Message;
    try {
      message = Message.decode(aligned(dataHeader));
    } catch (err) {
      throw FlightError.invalidArgument(`FlightData data_header is not an Arrow IPC message: ${(err as Error).message}`);
    }
    if (dataBody.byteLength < message.bodyLength) {
      throw FlightError.invalidArgument(`FlightData data_body has ${dataBody.byteLength} bytes, its IPC message declares ${message.bodyLength}`);
    }
    if (message.isSchema()) {
      if (this.schema) throw FlightError.invalidArgument('the FlightData stream carries a second schema message');
      this.schema = message.header();
      return null;
    }
    const schema = this.schema;
    if (!schema) throw FlightError.invalidArgument('the FlightData stream does not start with its schema message');
    if (message.isDictionaryBatch()) {
      const header = message.header();
      const type = schema.dictionaries.get(header.id);
      if (!type) throw FlightError.invalidArgument(`dictionary batch for id ${header.id}, which no field of the schema uses`);
      uncompressed(header.data.compression);
      const [data] = this.load(header.data, aligned(dataBody), [type]);
      const previous = this.dictionaries.get(header.id);
      this.dictionaries.set(header.id, (previous && header.isDelta ? previous.concat(new Vector([data])) : new Vector([data])).memoize());
      return null;
    }
    if (message.isRecordBatch()) {
      const header = message.header();
      uncompressed(header.compression);
      const children = this.load(header, aligned(dataBody), schema.fields);
      return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: header.length, children }));
    }
    throw FlightError.invalidArgument(`unexpected Arrow IPC message type ${message.headerType} in a FlightData stream`);
  }

  private load(header: IpcRecordBatch, body: Uint8Array, types: Array<Field | DataType>): Data[] {
    const { schema } = this;
    return new VectorLoader(body, header.nodes, header.buffers, this.dictionaries, schema!.metadataVersion, header.variadicBufferCounts).visitMany(types);
  }
}

/**
 * Arrow wraps body buffers (and a union's type ids in the Message flatbuffer) in typed arrays in
 * place, which needs 8-byte alignment: a misplaced header or body is copied once.
 */
const aligned = (body: Uint8Array): Uint8Array => (body.byteOffset % 8 === 0 ? body : new Uint8Array(body));

function uncompressed(compression: unknown): void {
  if (compression != null) throw FlightError.invalidArgument('compressed Arrow IPC bodies are not supported; ask the server for uncompressed data');
}

/** Record batches of the remaining messages. Leaving early calls `abandon`, so the transport hears of it. */
async function* batchStream(
  decoder: FlightDataDecoder,
  messages: AsyncIterator<WireFlightData>,
  abandon: () => void,
): AsyncGenerator<RecordBatch> {
  let complete = false;
  try {
    for (;;) {
      const next = await messages.next();
      if (next.done) break;
      const batch = decoder.decode(next.value);
      if (batch) yield batch;
    }
    complete = true;
  } finally {
    if (!complete) {
      abandon();
      await messages.return?.();
    }
  }
}

/** Reads a FlightData stream (schema message first) into a schema and a lazy stream of record batches. */
export async function decodeFlightData(messages: AsyncIterable<WireFlightData>, abandon: () => void = () => undefined): Promise<DecodedStream> {
  const iterator = messages[Symbol.asyncIterator]();
  const decoder = new FlightDataDecoder();
  try {
    while (!decoder.schema) {
      const next = await iterator.next();
      if (next.done) throw FlightError.invalidArgument('the FlightData stream ended before its schema message');
      decoder.decode(next.value);
    }
  } catch (err) {
    abandon();
    await iterator.return?.();
    throw err;
  }
  return { schema: decoder.schema, batches: batchStream(decoder, iterator, abandon) };
}
