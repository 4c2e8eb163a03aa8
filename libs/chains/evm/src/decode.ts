import { Data, makeData, RecordBatch, Struct, Table, TimestampMicrosecond, Type, Utf8, type Schema } from 'apache-arrow';
import {
  arrowSchema,
  blocks as blocksDataset,
  logs as logsDataset,
  transactions as transactionsDataset,
  RowError,
  toInt64,
  INT64_MAX,
  type DatasetDef,
} from '@chainlake/schema';
import { HEX_CLASS, INVALID, UPPER, firstSignificant, hexToDecimal, quantity, readQuantity, scanHex, scanned, writeDecimal } from './hex.js';
import type { RawDatasetName, RawTables } from './raw.js';
import { boolData, constantInt64, freshMemory, int32Data, int32sFrom, Int64Writer, Utf8Writer, type Allocate } from './writers.js';

export interface TypedTables {
  blocks: Table;
  transactions: Table;
  logs: Table;
}

const ZERO = 48;
const X = 120;
const INT64_HI_MAX = 0x7fffffff;
/** Timestamps up to this many seconds convert to microseconds below 2^53, in plain numbers. */
const MAX_SAFE_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1e6);
const TWO_32 = 4294967296;
/** Quantities whose high half is below this (at most 13 hex digits) are exact as plain numbers. */
const SAFE_HI = 0x100000;
const textDecoder = new TextDecoder();

interface Utf8Column {
  values: Uint8Array;
  /** Where the value of row i starts: offsets[i] (Arrow slices them with the batch). */
  offsets: Int32Array;
  /** Validity bitmap, null when the column has no nulls. */
  validity: Uint8Array | null;
  /** The bit of row 0 in `validity`: the Data's offset. */
  validityOffset: number;
  data: Data<Utf8>;
}

/** Timestamp (µs) of each decoded block, by block number; keys above 2^53 are strings. */
type BlockTimes = Map<number | string, { lo: number; hi: number }>;

const blockKey = (lo: number, hi: number): number | string => (hi < 0x200000 ? hi * TWO_32 + lo : `${hi}:${lo}`);

/** Bytes [s, e) as a quoted string, shortened, for error messages. */
function shownText(values: Uint8Array, s: number, e: number): string {
  const text = textDecoder.decode(values.subarray(s, Math.min(e, s + 80)));
  return JSON.stringify(e - s > 80 ? `${text}…` : text);
}

/** Whether row i is null in a validity bitmap (null: no nulls) whose row 0 is bit `validityOffset`. */
const isNullBit = (validity: Uint8Array | null, validityOffset: number, i: number): boolean =>
  validity !== null && (validity[(validityOffset + i) >> 3] & (1 << ((validityOffset + i) & 7))) === 0;

const isNull = (col: Utf8Column, i: number): boolean => isNullBit(col.validity, col.validityOffset, i);

/** Reads row `i` of `col` into `quantity`; false when malformed. */
const readRow = (col: Utf8Column, i: number): boolean =>
  readQuantity(col.values, col.offsets[i], col.offsets[i + 1]);

/** One record batch of a raw dataset, and how to report a bad value in it. */
class RawBatch {
  readonly length: number;

  constructor(
    readonly dataset: RawDatasetName,
    private readonly batch: RecordBatch,
    private readonly firstRow: number,
    /** Memory for the decoded columns. */
    readonly allocate: Allocate,
  ) {
    this.length = batch.numRows;
  }

  fail(raw: string, typed: string, i: number, problem: string): never {
    const row = this.firstRow + i;
    throw new RowError(`${this.dataset}.${raw} (→ ${typed}) row ${row}: ${problem}`, {
      dataset: this.dataset,
      column: raw,
      row,
    });
  }

  child(name: string): Data {
    const index = this.batch.schema.fields.findIndex((f) => f.name === name);
    if (index < 0) throw new Error(`${this.dataset} has no column ${name}`);
    return this.batch.data.children[index];
  }

  utf8(name: string, typed: string, nullable: boolean): Utf8Column {
    const data = this.child(name);
    if (data.typeId !== Type.Utf8) throw new Error(`${this.dataset}.${name} is ${data.type}, expected Utf8`);
    const col: Utf8Column = {
      values: data.values as Uint8Array,
      offsets: data.valueOffsets as Int32Array,
      validity: data.nullCount > 0 ? data.nullBitmap : null,
      validityOffset: data.offset,
      data: data as Data<Utf8>,
    };
    if (!nullable && col.validity) {
      for (let i = 0; i < this.length; i++) if (isNull(col, i)) this.fail(name, typed, i, 'is null');
    }
    return col;
  }

  /** The value at row i, shortened, for error messages. */
  text(col: Utf8Column, i: number): string {
    return shownText(col.values, col.offsets[i], col.offsets[i + 1]);
  }

  malformed(col: Utf8Column, raw: string, typed: string, i: number): never {
    this.fail(raw, typed, i, `malformed hex quantity ${this.text(col, i)}`);
  }
}

/*
 * The loops over rows live in functions that take only typed arrays, numbers and module-level
 * tables. V8 forgets an object layout (hidden class) at a full GC once no object of it is alive,
 * and throws away the optimized code that checked it: loops touching per-decode objects (batches,
 * writers) were recompiled on every decode, about a quarter of its CPU. Those functions
 * return the first bad row, if any, and the caller reports it.
 */

function int64Column(batch: RawBatch, raw: string, typed: string): Int64Writer {
  const col = batch.utf8(raw, typed, false);
  const out = new Int64Writer(batch.length, batch.allocate);
  const bad = readInt64s(col.values, col.offsets, batch.length, out.words);
  if (bad >= 0) {
    if (!readRow(col, bad)) batch.malformed(col, raw, typed, bad);
    batch.fail(raw, typed, bad, `${batch.text(col, bad)} exceeds the Int64 maximum 2^63-1`);
  }
  return out;
}

function readInt64s(values: Uint8Array, offsets: Int32Array, length: number, words: Int32Array): number {
  for (let i = 0; i < length; i++) {
    if (!readQuantity(values, offsets[i], offsets[i + 1])) return i;
    if (quantity.above64 || quantity.hi > INT64_HI_MAX) return i;
    words[2 * i] = quantity.lo;
    words[2 * i + 1] = quantity.hi;
  }
  return -1;
}

function int32Column(batch: RawBatch, raw: string, typed: string, nullAs?: number): Data {
  const col = batch.utf8(raw, typed, nullAs !== undefined);
  const out = int32sFrom(batch.allocate, batch.length);
  const bad = readInt32s(col.values, col.offsets, batch.length, col.validity, col.validityOffset, nullAs ?? 0, out);
  if (bad >= 0) {
    if (!readRow(col, bad)) batch.malformed(col, raw, typed, bad);
    batch.fail(raw, typed, bad, `${batch.text(col, bad)} exceeds the Int32 maximum 2^31-1`);
  }
  return int32Data(out);
}

function readInt32s(
  values: Uint8Array,
  offsets: Int32Array,
  length: number,
  validity: Uint8Array | null,
  validityOffset: number,
  nullAs: number,
  out: Int32Array,
): number {
  for (let i = 0; i < length; i++) {
    if (isNullBit(validity, validityOffset, i)) {
      out[i] = nullAs;
      continue;
    }
    if (!readQuantity(values, offsets[i], offsets[i + 1])) return i;
    if (quantity.above64 || quantity.hi !== 0 || quantity.lo > INT64_HI_MAX) return i;
    out[i] = quantity.lo;
  }
  return -1;
}

/** The most digits a uint256 has in decimal. */
const MAX_DECIMAL_DIGITS = 78;

/** uint256 quantities as exact decimal strings. */
function uint256Column(batch: RawBatch, raw: string, typed: string, nullable: boolean): Data {
  const col = batch.utf8(raw, typed, nullable);
  const { values, offsets, validity, validityOffset } = col;
  const length = batch.length;
  let bytes = batch.allocate(Math.max(length * 12, 64));
  const ends = int32sFrom(batch.allocate, length + 1);
  ends[0] = 0;
  const nullBitmap = validity ? batch.allocate((length + 7) >> 3).fill(0xff) : new Uint8Array(0);
  let row = 0;
  while ((row = writeUint256s(values, offsets, length, validity, validityOffset, row, bytes, ends, nullBitmap)) < length) {
    if (!readRow(col, row)) batch.malformed(col, raw, typed, row);
    const e = offsets[row + 1];
    if (e - firstSignificant(values, offsets[row], e) > 64) {
      batch.fail(raw, typed, row, `${batch.text(col, row)} exceeds uint256`);
    }
    // Only room was missing.
    const grown = batch.allocate(bytes.length * 2);
    grown.set(bytes.subarray(0, ends[row]));
    bytes = grown;
  }
  const nullCount = validity ? countNulls(validity, validityOffset, length) : 0;
  return makeData({
    type: new Utf8(),
    length,
    nullCount,
    nullBitmap: nullCount > 0 ? nullBitmap : new Uint8Array(0),
    valueOffsets: ends,
    data: bytes.subarray(0, ends[length]),
  });
}

/**
 * Writes rows [from, length) as decimal text into `bytes`, the end of row i at ends[i + 1], and
 * clears the bits of null rows in `nullBitmap`. Returns the row it stopped at: `length`, or a row
 * that is malformed, above uint256, or might not fit in `bytes`.
 */
function writeUint256s(
  values: Uint8Array,
  offsets: Int32Array,
  length: number,
  validity: Uint8Array | null,
  validityOffset: number,
  from: number,
  bytes: Uint8Array,
  ends: Int32Array,
  nullBitmap: Uint8Array,
): number {
  let at = ends[from];
  for (let i = from; i < length; i++) {
    if (isNullBit(validity, validityOffset, i)) {
      nullBitmap[i >> 3] &= ~(1 << (i & 7));
      ends[i + 1] = at;
      continue;
    }
    const s = offsets[i];
    const e = offsets[i + 1];
    if (!readQuantity(values, s, e) || at + MAX_DECIMAL_DIGITS > bytes.length) return i;
    if (!quantity.above64 && quantity.hi < SAFE_HI) {
      at = writeDecimal(quantity.hi * TWO_32 + quantity.lo, bytes, at);
    } else {
      const p = firstSignificant(values, s, e);
      if (e - p > 64) return i;
      at = hexToDecimal(values, p, e, bytes, at);
    }
    ends[i + 1] = at;
  }
  return length;
}

function countNulls(validity: Uint8Array, validityOffset: number, length: number): number {
  let nulls = 0;
  for (let i = validityOffset; i < validityOffset + length; i++) nulls += ((validity[i >> 3] >> (i & 7)) & 1) ^ 1;
  return nulls;
}

/**
 * Hex data (hashes, addresses, calldata): validated, and passed through without a copy unless
 * some digit is upper case. `bytes` is the exact length in bytes, or 0 for any whole number.
 */
function hexColumn(batch: RawBatch, raw: string, typed: string, bytes: number, nullable: boolean): Data {
  const col = batch.utf8(raw, typed, nullable);
  const { values, offsets } = col;
  const upper = hexValuesValid(values, offsets, batch.length, col.validity, col.validityOffset, bytes)
    ? scanned.upper
    : checkHexRows(batch, col, raw, typed, bytes);
  if (!upper) return col.data;
  const lowered = batch.allocate(values.length);
  lowered.set(values);
  lowerCase(lowered, offsets[0], offsets[batch.length]);
  return makeData({
    type: new Utf8(),
    offset: col.validityOffset,
    length: batch.length,
    nullCount: col.data.nullCount,
    nullBitmap: col.data.nullBitmap,
    valueOffsets: offsets,
    data: lowered,
  });
}

/** Lower-cases validated hex text: sets 0x20 in every byte, which only changes A-F. */
function lowerCase(bytes: Uint8Array, start: number, end: number): void {
  for (let p = start; p < end; p++) bytes[p] |= 0x20;
}

/**
 * Proves the hex values of rows [0, length) valid cheaply: checks each value's 0x prefix and
 * length, then counts the bytes that are not hex digits over all values at once: there must be
 * exactly one per value, its x. False when the proof fails, also when a null row holds bytes; the
 * caller then checks row by row. Leaves `scanned.upper` set when true.
 */
function hexValuesValid(
  values: Uint8Array,
  offsets: Int32Array,
  length: number,
  validity: Uint8Array | null,
  validityOffset: number,
  bytes: number,
): boolean {
  if (length === 0) {
    scanned.upper = false;
    return true;
  }
  let present = 0;
  for (let i = 0; i < length; i++) {
    const s = offsets[i];
    const e = offsets[i + 1];
    if (isNullBit(validity, validityOffset, i)) {
      if (e !== s) return false;
      continue;
    }
    const len = e - s;
    if (bytes > 0 ? len !== 2 + 2 * bytes : len < 2 || (len & 1) !== 0) return false;
    if (values[s] !== ZERO || values[s + 1] !== X) return false;
    present++;
  }
  scanHex(values, offsets[0], offsets[length]);
  return scanned.nonHex === present;
}

/** Validates a hex column row by row, throwing for the first bad value; returns whether some digit is upper case. */
function checkHexRows(batch: RawBatch, col: Utf8Column, raw: string, typed: string, bytes: number): boolean {
  const { values, offsets } = col;
  let upper = 0;
  for (let i = 0; i < batch.length; i++) {
    if (isNull(col, i)) continue;
    const s = offsets[i];
    const e = offsets[i + 1];
    const len = e - s;
    if (len < 2 || values[s] !== ZERO || values[s + 1] !== X) {
      batch.fail(raw, typed, i, `malformed hex ${batch.text(col, i)}: no 0x prefix`);
    }
    if (bytes > 0 ? len !== 2 + 2 * bytes : (len & 1) !== 0) {
      const expected = bytes > 0 ? `${bytes} bytes` : 'a whole number of bytes';
      batch.fail(raw, typed, i, `malformed hex ${batch.text(col, i)}: expected ${expected}`);
    }
    let classes = 0;
    for (let p = s + 2; p < e; p++) classes |= HEX_CLASS[values[p]];
    if (classes & INVALID) batch.fail(raw, typed, i, `malformed hex ${batch.text(col, i)}`);
    upper |= classes;
  }
  return (upper & UPPER) !== 0;
}

/** Block numbers, and the timestamps joined from the decoded blocks. */
function blockNumberColumns(batch: RawBatch, raw: string, times: BlockTimes): [Data, Data] {
  const numbers = int64Column(batch, raw, 'block_number');
  const stamps = new Int64Writer(batch.length, batch.allocate);
  const missing = joinTimestamps(numbers.words, batch.length, times, stamps.words);
  if (missing >= 0) {
    const number = numbers.words[2 * missing + 1] * TWO_32 + (numbers.words[2 * missing] >>> 0);
    batch.fail(raw, 'block_timestamp', missing, `block ${number} is not in raw_blocks`);
  }
  return [numbers.finish(), stamps.finishTimestamp(timestampType)];
}

/** Writes the timestamp of each row's block into `stamps`; returns the first row whose block is unknown, or -1. */
function joinTimestamps(numbers: Int32Array, length: number, times: BlockTimes, stamps: Int32Array): number {
  let lastLo = -1;
  let lastHi = -1;
  let stampLo = 0;
  let stampHi = 0;
  for (let i = 0; i < length; i++) {
    const lo = numbers[2 * i] >>> 0;
    const hi = numbers[2 * i + 1];
    if (lo !== lastLo || hi !== lastHi) {
      const found = times.get(blockKey(lo, hi));
      if (!found) return i;
      stampLo = found.lo;
      stampHi = found.hi;
      lastLo = lo;
      lastHi = hi;
    }
    stamps[2 * i] = stampLo;
    stamps[2 * i + 1] = stampHi;
  }
  return -1;
}

const timestampType = arrowSchema(blocksDataset).fields.find((f) => f.name === 'timestamp')!.type as TimestampMicrosecond;

function successColumn(batch: RawBatch): Data {
  const col = batch.utf8('status', 'success', true);
  const bits = batch.allocate((batch.length + 7) >> 3).fill(0);
  const bad = readStatuses(col.values, col.offsets, batch.length, col.validity, col.validityOffset, bits);
  if (bad >= 0) {
    if (isNull(col, bad)) batch.fail('status', 'success', bad, 'receipt has no status (pre-Byzantium receipts are not supported)');
    if (!readRow(col, bad)) batch.malformed(col, 'status', 'success', bad);
    batch.fail('status', 'success', bad, `status ${batch.text(col, bad)} is neither 0x0 nor 0x1`);
  }
  return boolData(bits, batch.length);
}

function readStatuses(
  values: Uint8Array,
  offsets: Int32Array,
  length: number,
  validity: Uint8Array | null,
  validityOffset: number,
  bits: Uint8Array,
): number {
  for (let i = 0; i < length; i++) {
    if (isNullBit(validity, validityOffset, i)) return i;
    if (!readQuantity(values, offsets[i], offsets[i + 1])) return i;
    if (quantity.above64 || quantity.hi !== 0 || quantity.lo > 1) return i;
    if (quantity.lo === 1) bits[i >> 3] |= 1 << (i & 7);
  }
  return -1;
}

function topicColumns(batch: RawBatch): Data[] {
  const list = batch.child('topics');
  if (list.typeId !== Type.List || list.children[0]?.typeId !== Type.Utf8) {
    throw new Error(`raw_logs.topics is ${list.type}, expected List<Utf8>`);
  }
  const items = list.children[0] as Data<Utf8>;
  return splitTopics(list, items, batch.length, batch.allocate) ?? checkTopicRows(batch, list, items);
}

const TOPIC_LENGTH = 66;

/**
 * topic0..topic3 when every topic is provably valid (at most 4 per row, no nulls, each 0x and 32
 * bytes of hex), null otherwise: `checkTopicRows` then finds the first bad row. The four columns
 * share one buffer of exactly the topics' size, each its own region.
 */
function splitTopics(list: Data, items: Data<Utf8>, length: number, allocate: Allocate): Data[] | null {
  if (list.nullCount > 0 || items.nullCount > 0) return null;
  const listOffsets = list.valueOffsets as Int32Array;
  const present = new Int32Array(4);
  if (!countTopics(listOffsets, length, present)) return null;
  const values = items.values as Uint8Array;
  const count = listOffsets[length] - listOffsets[0];
  const offsets = (items.valueOffsets as Int32Array).subarray(listOffsets[0], listOffsets[0] + count + 1);
  if (!hexValuesValid(values, offsets, count, null, 0, 32)) return null;
  const upper = scanned.upper;
  const bytes = allocate(count * TOPIC_LENGTH);
  const source = count > 0 ? new DataView(values.buffer, values.byteOffset + offsets[0], bytes.length) : new DataView(bytes.buffer, bytes.byteOffset, 0);
  const valueOffsets = int32sFrom(allocate, 4 * (length + 1));
  const bitmapBytes = (length + 7) >> 3;
  const nullBitmaps = allocate(4 * bitmapBytes).fill(0xff);
  copyTopics(listOffsets, length, source, new DataView(bytes.buffer, bytes.byteOffset, bytes.length), present, valueOffsets, nullBitmaps);
  if (upper) lowerCase(bytes, 0, bytes.length);
  let start = 0;
  return [0, 1, 2, 3].map((t) => {
    const end = start + present[t] * TOPIC_LENGTH;
    const data = makeData({
      type: new Utf8(),
      length,
      nullCount: length - present[t],
      nullBitmap: present[t] < length ? nullBitmaps.subarray(t * bitmapBytes, (t + 1) * bitmapBytes) : new Uint8Array(0),
      valueOffsets: valueOffsets.subarray(t * (length + 1), (t + 1) * (length + 1)),
      data: bytes.subarray(start, end),
    });
    start = end;
    return data;
  });
}

/** Counts into present[t] the rows with more than t topics; false when a row has a count outside 0..4. */
function countTopics(listOffsets: Int32Array, length: number, present: Int32Array): boolean {
  for (let i = 0; i < length; i++) {
    const count = listOffsets[i + 1] - listOffsets[i];
    if (count < 0 || count > 4) return false;
    for (let t = 0; t < count; t++) present[t]++;
  }
  return true;
}

/**
 * Copies each row's topics, which follow one another in `source`, into the regions of topic0..topic3
 * in `target` (sized by `present`), writing the four offset arrays (length + 1 each, relative to
 * their region) and clearing the null bits of rows without topic t.
 */
function copyTopics(
  listOffsets: Int32Array,
  length: number,
  source: DataView,
  target: DataView,
  present: Int32Array,
  valueOffsets: Int32Array,
  nullBitmaps: Uint8Array,
): void {
  const starts = new Int32Array(4);
  for (let t = 1; t < 4; t++) starts[t] = starts[t - 1] + present[t - 1] * TOPIC_LENGTH;
  const cursors = starts.slice();
  for (let t = 0; t < 4; t++) valueOffsets[t * (length + 1)] = 0;
  const bitmapBytes = (length + 7) >> 3;
  let s = 0;
  for (let i = 0; i < length; i++) {
    const count = listOffsets[i + 1] - listOffsets[i];
    for (let t = 0; t < 4; t++) {
      let at = cursors[t];
      if (t < count) {
        // 32 bits at a time whatever the alignment: a topic is 16 words and 2 bytes.
        for (let k = 0; k < 64; k += 4) target.setInt32(at + k, source.getInt32(s + k));
        target.setUint16(at + 64, source.getUint16(s + 64));
        s += TOPIC_LENGTH;
        at += TOPIC_LENGTH;
        cursors[t] = at;
      } else {
        nullBitmaps[t * bitmapBytes + (i >> 3)] &= ~(1 << (i & 7));
      }
      valueOffsets[t * (length + 1) + i + 1] = at - starts[t];
    }
  }
}

/** topic0..topic3 checked row by row, throwing for the first bad row. */
function checkTopicRows(batch: RawBatch, list: Data, items: Data<Utf8>): Data[] {
  const listOffsets = list.valueOffsets as Int32Array;
  const values = items.values as Uint8Array;
  const offsets = items.valueOffsets as Int32Array;
  const itemValidity = items.nullCount > 0 ? items.nullBitmap : null;
  const topics = [0, 1, 2, 3].map(() => new Utf8Writer(batch.length, TOPIC_LENGTH));
  for (let i = 0; i < batch.length; i++) {
    if (list.nullCount > 0 && !list.getValid(i)) batch.fail('topics', 'topic0..topic3', i, 'is null');
    const first = listOffsets[i];
    const count = listOffsets[i + 1] - first;
    if (count > 4) batch.fail('topics', 'topic0..topic3', i, `${count} topics, at most 4 exist`);
    for (let t = 0; t < 4; t++) {
      const out = topics[t];
      if (t >= count) {
        out.pushNull();
        continue;
      }
      const item = first + t;
      const typed = `topic${t}`;
      const bit = items.offset + item;
      if (itemValidity && (itemValidity[bit >> 3] & (1 << (bit & 7))) === 0) {
        batch.fail('topics', typed, i, `topic ${t} is null`);
      }
      const s = offsets[item];
      const e = offsets[item + 1];
      if (e - s !== TOPIC_LENGTH || values[s] !== ZERO || values[s + 1] !== X) {
        batch.fail('topics', typed, i, `malformed topic ${shownText(values, s, e)}: expected 0x and 32 bytes of hex`);
      }
      const at = out.reserve(TOPIC_LENGTH);
      const bytes = out.bytes;
      bytes[at] = ZERO;
      bytes[at + 1] = X;
      let classes = 0;
      for (let p = s + 2, q = at + 2; p < e; p++, q++) {
        const c = values[p];
        classes |= HEX_CLASS[c];
        bytes[q] = c | 0x20;
      }
      if (classes & INVALID) batch.fail('topics', typed, i, `malformed topic ${shownText(values, s, e)}`);
      out.commit(at + TOPIC_LENGTH);
    }
  }
  return topics.map((w) => w.finish());
}

function typedBatch(def: DatasetDef, length: number, columns: Record<string, Data>): RecordBatch {
  const schema: Schema = arrowSchema(def);
  const children = schema.fields.map((f) => columns[f.name]);
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

function* rawBatches(dataset: RawDatasetName, table: Table, allocate: Allocate): Generator<RawBatch> {
  let firstRow = 0;
  for (const batch of table.batches) {
    yield new RawBatch(dataset, batch, firstRow, allocate);
    firstRow += batch.numRows;
  }
}

/** Block timestamps (seconds) as Int64 microseconds into `stamps`, each recorded in `times` under the block's number. */
function blockTimestamps(batch: RawBatch, numbers: Int32Array, stamps: Int32Array, times: BlockTimes): void {
  const col = batch.utf8('timestamp', 'timestamp', false);
  const bad = readTimestamps(col.values, col.offsets, batch.length, numbers, stamps, times);
  if (bad >= 0) {
    if (!readRow(col, bad)) batch.malformed(col, 'timestamp', 'timestamp', bad);
    if (!secondsToMicros()) batch.fail('timestamp', 'timestamp', bad, `${batch.text(col, bad)} seconds overflow Int64 microseconds`);
    batch.fail('number', 'block_number', bad, `block ${blockKey(numbers[2 * bad] >>> 0, numbers[2 * bad + 1])} appears twice`);
  }
}

function readTimestamps(
  values: Uint8Array,
  offsets: Int32Array,
  length: number,
  numbers: Int32Array,
  stamps: Int32Array,
  times: BlockTimes,
): number {
  for (let i = 0; i < length; i++) {
    if (!readQuantity(values, offsets[i], offsets[i + 1]) || !secondsToMicros()) return i;
    stamps[2 * i] = micros.lo;
    stamps[2 * i + 1] = micros.hi;
    const key = blockKey(numbers[2 * i] >>> 0, numbers[2 * i + 1]);
    if (times.has(key)) return i;
    times.set(key, { lo: micros.lo, hi: micros.hi });
  }
  return -1;
}

/** Result of `secondsToMicros`, as unsigned 32-bit halves. */
const micros = { lo: 0, hi: 0 };

/** Converts `quantity`, in seconds, to microseconds in `micros`; false when that overflows Int64. */
function secondsToMicros(): boolean {
  if (quantity.above64) return false;
  const seconds = quantity.hi * TWO_32 + quantity.lo;
  if (seconds <= MAX_SAFE_SECONDS) {
    const value = seconds * 1e6;
    micros.lo = value % TWO_32;
    micros.hi = (value - micros.lo) / TWO_32;
    return true;
  }
  const value = ((BigInt(quantity.hi) << 32n) | BigInt(quantity.lo)) * 1_000_000n;
  if (value > INT64_MAX) return false;
  micros.lo = Number(value & 0xffffffffn);
  micros.hi = Number(value >> 32n);
  return true;
}

function decodeBlocks(table: Table, chainId: bigint, times: BlockTimes, allocate: Allocate): Table {
  const batches: RecordBatch[] = [];
  for (const batch of rawBatches('raw_blocks', table, allocate)) {
    const numbers = int64Column(batch, 'number', 'block_number');
    const stamps = new Int64Writer(batch.length, allocate);
    blockTimestamps(batch, numbers.words, stamps.words, times);
    batches.push(
      typedBatch(blocksDataset, batch.length, {
        block_number: numbers.finish(),
        block_hash: hexColumn(batch, 'hash', 'block_hash', 32, false),
        parent_hash: hexColumn(batch, 'parentHash', 'parent_hash', 32, false),
        timestamp: stamps.finishTimestamp(timestampType),
        author: hexColumn(batch, 'miner', 'author', 20, false),
        gas_used: int64Column(batch, 'gasUsed', 'gas_used').finish(),
        gas_limit: int64Column(batch, 'gasLimit', 'gas_limit').finish(),
        extra_data: hexColumn(batch, 'extraData', 'extra_data', 0, false),
        base_fee_per_gas: uint256Column(batch, 'baseFeePerGas', 'base_fee_per_gas', true),
        chain_id: constantInt64(chainId, batch.length, allocate),
      }),
    );
  }
  return new Table(arrowSchema(blocksDataset), batches);
}

function decodeTransactions(table: Table, chainId: bigint, times: BlockTimes, allocate: Allocate): Table {
  const batches: RecordBatch[] = [];
  for (const batch of rawBatches('raw_transactions', table, allocate)) {
    const [blockNumber, blockTimestamp] = blockNumberColumns(batch, 'blockNumber', times);
    batches.push(
      typedBatch(transactionsDataset, batch.length, {
        block_number: blockNumber,
        block_timestamp: blockTimestamp,
        transaction_index: int32Column(batch, 'transactionIndex', 'transaction_index'),
        transaction_hash: hexColumn(batch, 'hash', 'transaction_hash', 32, false),
        nonce: int64Column(batch, 'nonce', 'nonce').finish(),
        from_address: hexColumn(batch, 'from', 'from_address', 20, false),
        to_address: hexColumn(batch, 'to', 'to_address', 20, true),
        value: uint256Column(batch, 'value', 'value', false),
        input: hexColumn(batch, 'input', 'input', 0, false),
        gas_limit: int64Column(batch, 'gas', 'gas_limit').finish(),
        gas_used: int64Column(batch, 'gasUsed', 'gas_used').finish(),
        gas_price: uint256Column(batch, 'gasPrice', 'gas_price', false),
        transaction_type: int32Column(batch, 'type', 'transaction_type', 0),
        max_priority_fee_per_gas: uint256Column(batch, 'maxPriorityFeePerGas', 'max_priority_fee_per_gas', true),
        max_fee_per_gas: uint256Column(batch, 'maxFeePerGas', 'max_fee_per_gas', true),
        success: successColumn(batch),
        chain_id: constantInt64(chainId, batch.length, allocate),
      }),
    );
  }
  return new Table(arrowSchema(transactionsDataset), batches);
}

function decodeLogs(table: Table, chainId: bigint, times: BlockTimes, allocate: Allocate): Table {
  const batches: RecordBatch[] = [];
  for (const batch of rawBatches('raw_logs', table, allocate)) {
    const [blockNumber, blockTimestamp] = blockNumberColumns(batch, 'blockNumber', times);
    const [topic0, topic1, topic2, topic3] = topicColumns(batch);
    batches.push(
      typedBatch(logsDataset, batch.length, {
        block_number: blockNumber,
        block_timestamp: blockTimestamp,
        transaction_index: int32Column(batch, 'transactionIndex', 'transaction_index'),
        log_index: int32Column(batch, 'logIndex', 'log_index'),
        transaction_hash: hexColumn(batch, 'transactionHash', 'transaction_hash', 32, false),
        address: hexColumn(batch, 'address', 'address', 20, false),
        topic0,
        topic1,
        topic2,
        topic3,
        data: hexColumn(batch, 'data', 'data', 0, false),
        chain_id: constantInt64(chainId, batch.length, allocate),
      }),
    );
  }
  return new Table(arrowSchema(logsDataset), batches);
}

/**
 * Decodes raw segment tables into the typed datasets: hex quantities into Int64 / Int32 (rejecting
 * what does not fit) or exact decimal strings (uint256), hex data validated and lower-cased,
 * block timestamps joined by block number, topics split into topic0..topic3, status into success.
 * One output record batch per input record batch. Bad values throw a RowError naming the raw
 * dataset, column and row. Computed columns are written into memory from `allocate`; validated hex
 * is passed through, pointing into the raw tables' memory.
 */
export function decode(raw: RawTables, chainId: bigint | number, allocate: Allocate = freshMemory): TypedTables {
  if (typeof chainId === 'number' && !Number.isSafeInteger(chainId)) {
    throw new RowError(`chain_id ${chainId} is not an integer`, { column: 'chain_id' });
  }
  const id = toInt64(BigInt(chainId), 'chain_id');
  const times: BlockTimes = new Map();
  const blocks = decodeBlocks(raw.raw_blocks, id, times, allocate);
  return {
    blocks,
    transactions: decodeTransactions(raw.raw_transactions, id, times, allocate),
    logs: decodeLogs(raw.raw_logs, id, times, allocate),
  };
}

