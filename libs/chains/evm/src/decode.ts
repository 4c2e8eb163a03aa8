import { Data, makeData, RecordBatch, Struct, Table, TimestampMicrosecond, Type, Utf8, type Schema } from 'apache-arrow';
import {
  arrowSchema,
  blocks as blocksDataset,
  logs as logsDataset,
  transactions as transactionsDataset,
  RowError,
  toInt64,
  type DatasetDef,
} from '@chainlake/schema';
import { HEX_CLASS, INVALID, UPPER, hexToDecimal, readSmall, readUint64, scanQuantity, word } from './hex.js';
import type { RawDatasetName, RawTables } from './raw.js';
import { boolData, constantInt64, int32Data, Int64Writer, Utf8Writer } from './writers.js';

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
const textDecoder = new TextDecoder();

interface Utf8Column {
  values: Uint8Array;
  offsets: Int32Array;
  base: number;
  /** Validity bitmap, null when the column has no nulls. */
  validity: Uint8Array | null;
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

const isNull = (col: Utf8Column, i: number): boolean =>
  col.validity !== null && (col.validity[(col.base + i) >> 3] & (1 << ((col.base + i) & 7))) === 0;

/** One record batch of a raw dataset, and how to report a bad value in it. */
class RawBatch {
  readonly length: number;

  constructor(
    readonly dataset: RawDatasetName,
    private readonly batch: RecordBatch,
    private readonly firstRow: number,
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
      base: data.offset,
      validity: data.nullCount > 0 ? data.nullBitmap : null,
      data: data as Data<Utf8>,
    };
    if (!nullable && col.validity) {
      for (let i = 0; i < this.length; i++) if (isNull(col, i)) this.fail(name, typed, i, 'is null');
    }
    return col;
  }

  /** The value at row i, shortened, for error messages. */
  text(col: Utf8Column, i: number): string {
    return shownText(col.values, col.offsets[col.base + i], col.offsets[col.base + i + 1]);
  }

  malformed(col: Utf8Column, raw: string, typed: string, i: number): never {
    this.fail(raw, typed, i, `malformed hex quantity ${this.text(col, i)}`);
  }
}

function int64Column(batch: RawBatch, raw: string, typed: string): Int64Writer {
  const col = batch.utf8(raw, typed, false);
  const { values, offsets, base } = col;
  const out = new Int64Writer(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const s = offsets[base + i];
    const e = offsets[base + i + 1];
    const p = scanQuantity(values, s, e);
    if (p < 0) batch.malformed(col, raw, typed, i);
    if (e - p > 16) batch.fail(raw, typed, i, `${batch.text(col, i)} exceeds the Int64 maximum 2^63-1`);
    readUint64(values, p, e);
    if (word.hi > INT64_HI_MAX) batch.fail(raw, typed, i, `${batch.text(col, i)} exceeds the Int64 maximum 2^63-1`);
    out.set(i, word.lo, word.hi);
  }
  return out;
}

function int32Column(batch: RawBatch, raw: string, typed: string, nullAs?: number): Data {
  const col = batch.utf8(raw, typed, nullAs !== undefined);
  const { values, offsets, base } = col;
  const out = new Int32Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    if (nullAs !== undefined && isNull(col, i)) {
      out[i] = nullAs;
      continue;
    }
    const s = offsets[base + i];
    const e = offsets[base + i + 1];
    const p = scanQuantity(values, s, e);
    if (p < 0) batch.malformed(col, raw, typed, i);
    const v = e - p <= 8 ? readSmall(values, p, e) : Infinity;
    if (v > INT64_HI_MAX) batch.fail(raw, typed, i, `${batch.text(col, i)} exceeds the Int32 maximum 2^31-1`);
    out[i] = v;
  }
  return int32Data(out);
}

/** uint256 quantities as exact decimal strings. */
function uint256Column(batch: RawBatch, raw: string, typed: string, nullable: boolean): Data {
  const col = batch.utf8(raw, typed, nullable);
  const { values, offsets, base } = col;
  const out = new Utf8Writer(batch.length, 12);
  for (let i = 0; i < batch.length; i++) {
    if (nullable && isNull(col, i)) {
      out.pushNull();
      continue;
    }
    const s = offsets[base + i];
    const e = offsets[base + i + 1];
    const p = scanQuantity(values, s, e);
    if (p < 0) batch.malformed(col, raw, typed, i);
    const digits = e - p;
    if (digits <= 13) {
      out.pushDecimal(readSmall(values, p, e));
    } else {
      if (digits > 64) batch.fail(raw, typed, i, `${batch.text(col, i)} exceeds uint256`);
      const at = out.reserve(78);
      out.commit(hexToDecimal(values, p, e, out.bytes, at));
    }
  }
  return out.finish();
}

/**
 * Hex data (hashes, addresses, calldata): validated, and passed through without a copy unless
 * some digit is upper case. `bytes` is the exact length in bytes, or 0 for any whole number.
 */
function hexColumn(batch: RawBatch, raw: string, typed: string, bytes: number, nullable: boolean): Data {
  const col = batch.utf8(raw, typed, nullable);
  const { values, offsets, base } = col;
  let upper = 0;
  for (let i = 0; i < batch.length; i++) {
    if (nullable && isNull(col, i)) continue;
    const s = offsets[base + i];
    const e = offsets[base + i + 1];
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
  if (!(upper & UPPER)) return col.data;
  const start = offsets[base];
  const end = offsets[base + batch.length];
  const lowered = values.slice();
  for (let p = start; p < end; p++) lowered[p] |= 0x20;
  return makeData({
    type: new Utf8(),
    offset: base,
    length: batch.length,
    nullCount: col.data.nullCount,
    nullBitmap: col.data.nullBitmap,
    valueOffsets: offsets,
    data: lowered,
  });
}

/** Block numbers, and the timestamps joined from the decoded blocks. */
function blockNumberColumns(batch: RawBatch, raw: string, times: BlockTimes): [Data, Data] {
  const numbers = int64Column(batch, raw, 'block_number');
  const stamps = new Int64Writer(batch.length);
  const words = numbers.words;
  let lastLo = -1;
  let lastHi = -1;
  let time = { lo: 0, hi: 0 };
  for (let i = 0; i < batch.length; i++) {
    const lo = words[2 * i] >>> 0;
    const hi = words[2 * i + 1];
    if (lo !== lastLo || hi !== lastHi) {
      const found = times.get(blockKey(lo, hi));
      if (!found) batch.fail(raw, 'block_timestamp', i, `block ${hi * TWO_32 + lo} is not in raw_blocks`);
      time = found;
      lastLo = lo;
      lastHi = hi;
    }
    stamps.set(i, time.lo, time.hi);
  }
  return [numbers.finish(), stamps.finishTimestamp(timestampType)];
}

const timestampType = arrowSchema(blocksDataset).fields.find((f) => f.name === 'timestamp')!.type as TimestampMicrosecond;

function successColumn(batch: RawBatch): Data {
  const col = batch.utf8('status', 'success', true);
  const { values, offsets, base } = col;
  const bits = new Uint8Array((batch.length + 7) >> 3);
  for (let i = 0; i < batch.length; i++) {
    if (isNull(col, i)) batch.fail('status', 'success', i, 'receipt has no status (pre-Byzantium receipts are not supported)');
    const s = offsets[base + i];
    const e = offsets[base + i + 1];
    const p = scanQuantity(values, s, e);
    if (p < 0) batch.malformed(col, 'status', 'success', i);
    const v = e - p <= 1 ? readSmall(values, p, e) : 2;
    if (v > 1) batch.fail('status', 'success', i, `status ${batch.text(col, i)} is neither 0x0 nor 0x1`);
    if (v === 1) bits[i >> 3] |= 1 << (i & 7);
  }
  return boolData(bits, batch.length);
}

function topicColumns(batch: RawBatch): Data[] {
  const list = batch.child('topics');
  if (list.typeId !== Type.List || list.children[0]?.typeId !== Type.Utf8) {
    throw new Error(`raw_logs.topics is ${list.type}, expected List<Utf8>`);
  }
  const items = list.children[0] as Data<Utf8>;
  const listOffsets = list.valueOffsets as Int32Array;
  const values = items.values as Uint8Array;
  const offsets = items.valueOffsets as Int32Array;
  const itemValidity = items.nullCount > 0 ? items.nullBitmap : null;
  const topics = [0, 1, 2, 3].map(() => new Utf8Writer(batch.length, 66));
  for (let i = 0; i < batch.length; i++) {
    if (list.nullCount > 0 && !list.getValid(i)) batch.fail('topics', 'topic0..topic3', i, 'is null');
    const first = listOffsets[list.offset + i];
    const count = listOffsets[list.offset + i + 1] - first;
    if (count > 4) batch.fail('topics', 'topic0..topic3', i, `${count} topics, at most 4 exist`);
    for (let t = 0; t < 4; t++) {
      const out = topics[t];
      if (t >= count) {
        out.pushNull();
        continue;
      }
      const item = items.offset + first + t;
      const typed = `topic${t}`;
      if (itemValidity && (itemValidity[item >> 3] & (1 << (item & 7))) === 0) {
        batch.fail('topics', typed, i, `topic ${t} is null`);
      }
      const s = offsets[item];
      const e = offsets[item + 1];
      if (e - s !== 66 || values[s] !== ZERO || values[s + 1] !== X) {
        batch.fail('topics', typed, i, `malformed topic ${shownText(values, s, e)}: expected 0x and 32 bytes of hex`);
      }
      const at = out.reserve(66);
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
      out.commit(at + 66);
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

function* rawBatches(dataset: RawDatasetName, table: Table): Generator<RawBatch> {
  let firstRow = 0;
  for (const batch of table.batches) {
    yield new RawBatch(dataset, batch, firstRow);
    firstRow += batch.numRows;
  }
}

function decodeBlocks(table: Table, chainId: bigint, times: BlockTimes): Table {
  const batches: RecordBatch[] = [];
  for (const batch of rawBatches('raw_blocks', table)) {
    const numbers = int64Column(batch, 'number', 'block_number');
    const stamps = new Int64Writer(batch.length);
    const col = batch.utf8('timestamp', 'timestamp', false);
    const { values, offsets, base } = col;
    for (let i = 0; i < batch.length; i++) {
      const s = offsets[base + i];
      const e = offsets[base + i + 1];
      const p = scanQuantity(values, s, e);
      if (p < 0) batch.malformed(col, 'timestamp', 'timestamp', i);
      if (e - p > 16) batch.fail('timestamp', 'timestamp', i, `${batch.text(col, i)} seconds overflow Int64 microseconds`);
      readUint64(values, p, e);
      let lo: number;
      let hi: number;
      const seconds = word.hi * TWO_32 + word.lo;
      if (seconds <= MAX_SAFE_SECONDS) {
        const micros = seconds * 1e6;
        lo = micros % TWO_32;
        hi = (micros - lo) / TWO_32;
      } else {
        const micros = ((BigInt(word.hi) << 32n) | BigInt(word.lo)) * 1_000_000n;
        try {
          toInt64(micros, 'timestamp');
        } catch {
          batch.fail('timestamp', 'timestamp', i, `${batch.text(col, i)} seconds overflow Int64 microseconds`);
        }
        lo = Number(micros & 0xffffffffn);
        hi = Number(micros >> 32n);
      }
      stamps.set(i, lo, hi);
      const key = blockKey(numbers.words[2 * i] >>> 0, numbers.words[2 * i + 1]);
      if (times.has(key)) batch.fail('number', 'block_number', i, `block ${key} appears twice`);
      times.set(key, { lo, hi });
    }
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
        chain_id: constantInt64(chainId, batch.length),
      }),
    );
  }
  return new Table(arrowSchema(blocksDataset), batches);
}

function decodeTransactions(table: Table, chainId: bigint, times: BlockTimes): Table {
  const batches: RecordBatch[] = [];
  for (const batch of rawBatches('raw_transactions', table)) {
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
        chain_id: constantInt64(chainId, batch.length),
      }),
    );
  }
  return new Table(arrowSchema(transactionsDataset), batches);
}

function decodeLogs(table: Table, chainId: bigint, times: BlockTimes): Table {
  const batches: RecordBatch[] = [];
  for (const batch of rawBatches('raw_logs', table)) {
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
        chain_id: constantInt64(chainId, batch.length),
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
 * dataset, column and row.
 */
export function decode(raw: RawTables, chainId: bigint | number): TypedTables {
  if (typeof chainId === 'number' && !Number.isSafeInteger(chainId)) {
    throw new RowError(`chain_id ${chainId} is not an integer`, { column: 'chain_id' });
  }
  const id = toInt64(BigInt(chainId), 'chain_id');
  const times: BlockTimes = new Map();
  const blocks = decodeBlocks(raw.raw_blocks, id, times);
  return {
    blocks,
    transactions: decodeTransactions(raw.raw_transactions, id, times),
    logs: decodeLogs(raw.raw_logs, id, times),
  };
}

