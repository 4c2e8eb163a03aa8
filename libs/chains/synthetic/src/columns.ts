import type { Data } from 'apache-arrow';
import { Utf8ListWriter, Utf8Writer } from '@chainlake/chain-evm';
import { hexDigitCount, hexDigits4, spreadNibbles, writeHexWord } from './hex.js';
import type { Random } from './random.js';

/** "0x" as a little-endian 16-bit store. */
export const PREFIX = 0x7830;
/** "0000" as a 32-bit store. */
export const FOUR_ZEROS = 0x30303030;

/*
 * Values that are already hex digits are copied 8 bytes at a time, as float64s: digits are bytes
 * 0x30-0x66, so 8 of them read as a float64 always make a finite, normal number (the exponent bits
 * are never all ones or all zeros), which loads and stores exactly.
 */

/** Eight "0" digits read as a float64. */
export const EIGHT_ZEROS = new Float64Array(new Uint8Array(8).fill(0x30).buffer)[0];

/**
 * What a Column holds between segments: no finished segment's buffers. Being alive as long as the
 * module, these also keep the V8 hidden classes of the writers alive (see SegmentGenerator).
 */
export const IDLE_LIST = new Utf8ListWriter(0, 0, 0);
const IDLE_WRITER = new Utf8Writer(0, 0);

/**
 * The Utf8Writer of one column of the segment being generated, with a DataView of its current
 * buffer for 2-, 4- and 8-byte stores at any offset (values are not aligned); the view follows the
 * writer when it regrows its buffer.
 */
export class Column {
  writer = IDLE_WRITER;
  view = new DataView(IDLE_WRITER.bytes.buffer);
  private bytes = IDLE_WRITER.bytes;

  /** Writes into `writer` from now on. */
  attach(writer: Utf8Writer): void {
    this.writer = writer;
    this.bytes = writer.bytes;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  /** Makes room for `n` more bytes and returns where they start. */
  reserve(n: number): number {
    const at = this.writer.reserve(n);
    if (this.writer.bytes !== this.bytes) this.attach(this.writer);
    return at;
  }

  /** Ends the current value at byte position `end`. */
  commit(end: number): void {
    this.writer.commit(end);
  }

  pushNull(): void {
    this.writer.pushNull();
  }

  /** The column's data; the Column goes back to holding no writer's buffers. */
  finish(): Data {
    const data = this.writer.finish();
    this.attach(IDLE_WRITER);
    return data;
  }
}

/** Writes `0x` and `words` 8-digit words of `source` from word `start` at `at`; returns the end. */
export function writePooled(view: DataView, at: number, source: Float64Array, start: number, words: number): number {
  view.setUint16(at, PREFIX, true);
  for (let k = 0; k < words; k++) view.setFloat64(at + 2 + 8 * k, source[start + k], true);
  return at + 2 + 8 * words;
}

/** Writes a random `0x`-prefixed value of `bytes` bytes at `at`; returns the end. */
export function writeRandomHex(view: DataView, at: number, random: Random, bytes: number): number {
  view.setUint16(at, PREFIX, true);
  return random.hex(view, at + 2, 2 * bytes);
}

/** Writes the `0x`-prefixed 32-byte value at `start` of `source` (a column's view) at `at`; returns the end. */
export function writeCopy32(view: DataView, at: number, source: DataView, start: number): number {
  view.setUint16(at, PREFIX, true);
  for (let k = 2; k < 66; k += 8) view.setFloat64(at + k, source.getFloat64(start + k, true), true);
  return at + 66;
}

/** Room for one quantity: `0x` and at most 16 digits written (see writeQuantity). */
const QUANTITY_BYTES = 18;

/**
 * Writes the RPC quantity form of a non-negative safe integer at `at`: `0x` and hex digits without
 * leading zeros; returns the end. Whole 4- or 8-digit words are written, shifted so that the first
 * digit is significant; the digits past the end are overwritten by the next value.
 */
export function writeQuantity(view: DataView, at: number, value: number): number {
  view.setUint16(at, PREFIX, true);
  if (value <= 0xffffffff) {
    const digits = value === 0 ? 1 : hexDigitCount(value);
    const shifted = value << (32 - 4 * digits);
    if (digits <= 4) view.setUint32(at + 2, hexDigits4(spreadNibbles(shifted >>> 16)), true);
    else writeHexWord(view, at + 2, shifted);
    return at + 2 + digits;
  }
  const high = Math.floor(value / 4294967296);
  const digits = hexDigitCount(high);
  writeHexWord(view, at + 2, high << (32 - 4 * digits));
  writeHexWord(view, at + 2 + digits, value >>> 0);
  return at + 10 + digits;
}

/** Appends the quantity form of a non-negative safe integer. */
export function pushQuantity(column: Column, value: number): void {
  const at = column.reserve(QUANTITY_BYTES);
  column.commit(writeQuantity(column.view, at, value));
}

/** Appends `values[0..count)` as quantities, a negative value as null. */
export function pushQuantities(column: Column, values: Float64Array, count: number): void {
  let at = column.reserve(QUANTITY_BYTES * count);
  const view = column.view;
  for (let i = 0; i < count; i++) {
    const value = values[i];
    if (value < 0) {
      column.pushNull();
    } else {
      at = writeQuantity(view, at, value);
      column.commit(at);
    }
  }
}

/** Appends `value` as a quantity `count` times. */
export function pushRepeatedQuantity(column: Column, value: number, count: number): void {
  let at = column.reserve(QUANTITY_BYTES * count);
  const view = column.view;
  for (let i = 0; i < count; i++) {
    at = writeQuantity(view, at, value);
    column.commit(at);
  }
}

/** Appends `0x` and `words` 8-digit words of `source` from word `start`. */
export function pushPooled(column: Column, source: Float64Array, start: number, words: number): void {
  const at = column.reserve(2 + 8 * words);
  column.commit(writePooled(column.view, at, source, start, words));
}

/** Appends the 20-byte addresses at words `wordAt[0..count)` of `pool`, a negative one as null. */
export function pushAddresses(column: Column, pool: Float64Array, wordAt: Int32Array, count: number): void {
  let at = column.reserve(42 * count);
  const view = column.view;
  for (let i = 0; i < count; i++) {
    const start = wordAt[i];
    if (start < 0) {
      column.pushNull();
    } else {
      at = writePooled(view, at, pool, start, 5);
      column.commit(at);
    }
  }
}

/** Appends a random `0x`-prefixed value of `bytes` bytes; returns where it starts. */
export function pushRandomHex(column: Column, random: Random, bytes: number): number {
  const at = column.reserve(2 + 2 * bytes);
  column.commit(writeRandomHex(column.view, at, random, bytes));
  return at;
}

export const finishColumns = (columns: Record<string, Column>): Record<string, Data> =>
  Object.fromEntries(Object.entries(columns).map(([name, column]) => [name, column.finish()]));
