import { join } from 'node:path';
import { writeParquet } from '@chainlake/lake';
import { Bool, Field, Int32, Int64, makeData, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8, vectorFromArray } from 'apache-arrow';
import type { LakeTable, LakeTableProvider } from '../src/index.js';

/** A transactions-like table typed as libs/schema types the lake. */
export const transactionsSchema = new Schema([
  new Field('block_number', new Int64(), false),
  new Field('transaction_index', new Int32(), false),
  new Field('transaction_hash', new Utf8(), false),
  new Field('to_address', new Utf8(), true),
  new Field('value', new Utf8(), false),
  new Field('gas_used', new Int64(), false),
  new Field('success', new Bool(), false),
  new Field('block_timestamp', new TimestampMicrosecond('UTC'), false),
]);

export interface TransactionRow {
  block_number: bigint;
  transaction_index: number;
  transaction_hash: string;
  to_address: string | null;
  value: string;
  gas_used: bigint;
  success: boolean;
  block_timestamp: bigint;
}

/** Deterministic rows; row i of the table is transaction i, 10 per block. */
export function transactionRows(first: number, count: number): TransactionRow[] {
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return {
      block_number: BigInt(Math.floor(i / 10)),
      transaction_index: i % 10,
      transaction_hash: `0x${(i * 2654435761).toString(16).padStart(64, '0')}`,
      to_address: i % 13 === 0 ? null : `0x${(i % 977).toString(16).padStart(40, '0')}`,
      value: `${BigInt(i) * 1_000_000_000_000_000_007n}`,
      gas_used: BigInt(21_000 + (i % 50_000)),
      success: i % 7 !== 0,
      block_timestamp: 1_704_067_200_000_000n + BigInt(Math.floor(i / 10)) * 1_000_000n,
    };
  });
}

export function transactionBatch(rows: TransactionRow[]): RecordBatch {
  const columns = transactionsSchema.fields.map((field) =>
    field.name === 'block_timestamp'
      ? makeData({ type: field.type as TimestampMicrosecond, length: rows.length, nullCount: 0, data: BigInt64Array.from(rows.map((row) => row.block_timestamp)) })
      : vectorFromArray(
          rows.map((row) => row[field.name as keyof TransactionRow]),
          field.type,
        ).data[0],
  );
  return new RecordBatch(transactionsSchema, makeData({ type: new Struct(transactionsSchema.fields), length: rows.length, nullCount: 0, children: columns }));
}

/** Writes rows [first, first + count) as one Parquet file of the table, in batches of 5,000 rows; returns its path. */
export async function writeTransactions(warehouse: string, namespace: string, table: string, first: number, count: number): Promise<string> {
  const path = join(warehouse, namespace, table, 'data', `${table}_${first}_${first + count - 1}.parquet`);
  const batches: RecordBatch[] = [];
  for (let at = first; at < first + count; at += 5_000) batches.push(transactionBatch(transactionRows(at, Math.min(5_000, first + count - at))));
  await writeParquet(path, transactionsSchema, batches, { rowGroupRows: 10_000 });
  return path;
}

/** The provider the engine reads, backed by a map the test changes. */
export class MemoryProvider implements LakeTableProvider {
  readonly tables = new Map<string, { table: LakeTable; files: string[] }>();
  listCalls = 0;

  set(namespace: string, name: string, arrowSchema: Schema, files: string[]): void {
    this.tables.set(`${namespace}.${name}`, { table: { namespace, name, arrowSchema }, files });
  }

  async listTables(): Promise<LakeTable[]> {
    this.listCalls++;
    return [...this.tables.values()].map((entry) => entry.table);
  }

  async currentFiles(namespace: string, name: string): Promise<string[]> {
    const entry = this.tables.get(`${namespace}.${name}`);
    if (!entry) throw new Error(`no table ${namespace}.${name}`);
    return entry.files;
  }
}
