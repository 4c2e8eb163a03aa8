import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import { Bool, Int32, RecordBatch, Struct, Utf8, makeData, vectorFromArray, type Data, type Field } from 'apache-arrow';
import { arrowSchema, transactions } from '@chainlake/schema';
import { writeParquet, type WrittenFile } from '@chainlake/lake';

export interface TransactionRow {
  block_number: bigint;
  block_timestamp: bigint; // µs
  transaction_index: number;
  transaction_hash: string;
  nonce: bigint;
  from_address: string;
  to_address: string | null;
  value: string;
  input: string;
  gas_limit: bigint;
  gas_used: bigint;
  gas_price: string;
  transaction_type: number;
  max_priority_fee_per_gas: string | null;
  max_fee_per_gas: string | null;
  success: boolean;
  chain_id: bigint;
}

const BASE_SECONDS = 1_700_000_000n;

/** Deterministic transactions of blocks [from, to], `perBlock` each. */
export function transactionRows(from: number, to: number, perBlock: number): TransactionRow[] {
  const rows: TransactionRow[] = [];
  for (let b = from; b <= to; b++) {
    for (let i = 0; i < perBlock; i++) {
      const n = b * 1000 + i;
      rows.push({
        block_number: BigInt(b),
        block_timestamp: (BASE_SECONDS + BigInt(b) * 12n) * 1_000_000n,
        transaction_index: i,
        transaction_hash: `0x${n.toString(16).padStart(64, '0')}`,
        nonce: BigInt(i),
        from_address: `0x${(i % 7).toString(16).padStart(40, '0')}`,
        to_address: i % 5 === 0 ? null : `0x${(n % 11).toString(16).padStart(40, 'a')}`,
        value: String(BigInt(b) * 10n ** 18n + BigInt(i)),
        input: i % 2 === 0 ? '0x' : `0xa9059cbb${n.toString(16)}`,
        gas_limit: 21000n + BigInt(i),
        gas_used: 21000n,
        gas_price: '1000000000',
        transaction_type: 2,
        max_priority_fee_per_gas: i % 2 === 1 ? null : '1',
        max_fee_per_gas: i % 2 === 1 ? null : String(2 + i),
        success: i % 3 !== 0,
        chain_id: 1n,
      });
    }
  }
  return rows;
}

function column(field: Field, values: unknown[]): Data {
  if (field.type instanceof Utf8 || field.type instanceof Int32 || field.type instanceof Bool) {
    return vectorFromArray(values as never[], field.type).data[0]!;
  }
  // Int64 and Timestamp(µs): raw 64-bit values (Arrow's builders take timestamps in ms).
  return makeData({ type: field.type, length: values.length, data: BigInt64Array.from(values as bigint[]) } as never);
}

export function transactionBatch(rows: TransactionRow[]): RecordBatch {
  const schema = arrowSchema(transactions);
  const children = schema.fields.map((f) => column(f, rows.map((r) => r[f.name as keyof TransactionRow])));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, children, nullCount: 0 }));
}

export function writeTransactions(path: string, rows: TransactionRow[], rowGroupRows?: number): Promise<WrittenFile> {
  return writeParquet(path, arrowSchema(transactions), [transactionBatch(rows)], { rowGroupRows });
}

/** A checksum of rows that survives the round trip through any reader: values as text, rows sorted. */
export function rowsChecksum(rows: Record<string, unknown>[]): string {
  const text = (v: unknown) => (v === null || v === undefined ? '∅' : v instanceof Date ? String(BigInt(v.getTime()) * 1000n) : String(v));
  const lines = rows.map((r) => Object.keys(r).sort().map((k) => `${k}=${text(r[k])}`).join('|')).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** A static file server for `root` on 127.0.0.1 (GET only, whole files): the read path stays third-party. */
export async function serveDirectory(root: string): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!path.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    readFile(path).then(
      (bytes) => res.writeHead(200, { 'content-length': bytes.length }).end(bytes),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
