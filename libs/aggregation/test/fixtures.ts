import { Bool, makeData, RecordBatch, Struct, vectorFromArray, type Data, type Field } from 'apache-arrow';
import { arrowSchema, transactions } from '@chainlake/schema';

export interface TxRow {
  block_number: number;
  /** Milliseconds since epoch. */
  block_timestamp: number;
  transaction_index: number;
  from_address: string;
  to_address: string | null;
  value: string;
  gas_used: number;
  gas_price: string;
  transaction_type: number;
  max_fee_per_gas: string | null;
  success: boolean;
}

/** A transactions record batch with the dataset's Arrow schema; unlisted columns get fixed values. */
export function txBatch(rows: readonly TxRow[]): RecordBatch {
  const schema = arrowSchema(transactions);
  const n = rows.length;
  const int64 = (f: (r: TxRow) => bigint) => BigInt64Array.from(rows, f);
  const columns: Record<string, () => Data> = {
    block_number: () => makeData({ type: field('block_number').type, length: n, data: int64((r) => BigInt(r.block_number)) }),
    block_timestamp: () =>
      makeData({ type: field('block_timestamp').type, length: n, data: int64((r) => BigInt(r.block_timestamp) * 1000n) }),
    transaction_index: () =>
      makeData({ type: field('transaction_index').type, length: n, data: Int32Array.from(rows, (r) => r.transaction_index) }),
    transaction_hash: () => utf8(rows.map((r) => `0x${r.block_number.toString(16).padStart(32, '0')}${r.transaction_index.toString(16).padStart(32, '0')}`)),
    nonce: () => makeData({ type: field('nonce').type, length: n, data: int64(() => 0n) }),
    from_address: () => utf8(rows.map((r) => r.from_address)),
    to_address: () => utf8(rows.map((r) => r.to_address)),
    value: () => utf8(rows.map((r) => r.value)),
    input: () => utf8(rows.map(() => '0x')),
    gas_limit: () => makeData({ type: field('gas_limit').type, length: n, data: int64(() => 30_000_000n) }),
    gas_used: () => makeData({ type: field('gas_used').type, length: n, data: int64((r) => BigInt(r.gas_used)) }),
    gas_price: () => utf8(rows.map((r) => r.gas_price)),
    transaction_type: () =>
      makeData({ type: field('transaction_type').type, length: n, data: Int32Array.from(rows, (r) => r.transaction_type) }),
    max_priority_fee_per_gas: () => utf8(rows.map(() => null)),
    max_fee_per_gas: () => utf8(rows.map((r) => r.max_fee_per_gas)),
    success: () => vectorFromArray(rows.map((r) => r.success), new Bool()).data[0],
    chain_id: () => makeData({ type: field('chain_id').type, length: n, data: int64(() => 1n) }),
  };
  const children = schema.fields.map((f) => columns[f.name]());
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));

  function field(name: string): Field {
    return schema.fields.find((f) => f.name === name)!;
  }
  function utf8(values: (string | null)[]): Data {
    return vectorFromArray(values, field('value').type).data[0];
  }
}

/** Seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const T0 = Date.UTC(2026, 0, 1);
export const ADDRESSES = Array.from({ length: 12 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}`);

/**
 * Random transactions over `blocks` consecutive blocks 12 s apart (so rows are in block and time
 * order), a few rows per block, wei values up to ~10^24 and some above 2^64.
 */
export function randomRows(seed: number, blocks: number, firstBlock = 100): TxRow[] {
  const rnd = prng(seed);
  const rows: TxRow[] = [];
  for (let b = 0; b < blocks; b++) {
    const count = Math.floor(rnd() * 6);
    for (let i = 0; i < count; i++) {
      const big = rnd() < 0.2;
      rows.push({
        block_number: firstBlock + b,
        block_timestamp: T0 + b * 12_000,
        transaction_index: i,
        from_address: ADDRESSES[Math.floor(rnd() * 5)],
        to_address: rnd() < 0.1 ? null : ADDRESSES[Math.floor(rnd() * ADDRESSES.length)],
        value: big
          ? (BigInt(Math.floor(rnd() * 1e9)) * 10n ** 15n + BigInt(Math.floor(rnd() * 1e6))).toString()
          : String(Math.floor(rnd() * 1e6)),
        gas_used: 21_000 + Math.floor(rnd() * 200_000),
        gas_price: String(1_000_000_000 + Math.floor(rnd() * 50_000_000_000)),
        transaction_type: Math.floor(rnd() * 3),
        max_fee_per_gas: rnd() < 0.3 ? null : String(Math.floor(rnd() * 1e11)),
        success: rnd() < 0.9,
      });
    }
  }
  return rows;
}

/** Splits rows into batches of random sizes. */
export function batches(rows: readonly TxRow[], seed: number, maxSize = 40): TxRow[][] {
  const rnd = prng(seed);
  const out: TxRow[][] = [];
  for (let i = 0; i < rows.length; ) {
    const size = 1 + Math.floor(rnd() * maxSize);
    out.push(rows.slice(i, i + size));
    i += size;
  }
  return out;
}
