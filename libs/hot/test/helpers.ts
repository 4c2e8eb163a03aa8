import { makeData, RecordBatch, Struct, Type, type Data, type Table } from 'apache-arrow';
import { arrowSchema, type DatasetDef } from '@chainlake/schema';

/** A cell: bigint for int64 and timestamps (µs), number for int32, boolean, string, or null. */
export type Cell = bigint | number | boolean | string | null;

const encoder = new TextEncoder();

/** A record batch with exactly the dataset's Arrow schema, built from plain rows. */
export function batchOf(def: DatasetDef, rows: Array<Record<string, Cell>>): RecordBatch {
  const schema = arrowSchema(def);
  const length = rows.length;
  const children: Data[] = def.columns.map((column, c) => {
    const type = schema.fields[c].type;
    const values = rows.map((r) => r[column.name] ?? null);
    const validity = new Uint8Array(Math.ceil(length / 8));
    let nullCount = 0;
    values.forEach((v, i) => (v === null ? nullCount++ : (validity[i >> 3] |= 1 << (i & 7))));
    const nullBitmap = nullCount > 0 ? validity : undefined;
    switch (column.type) {
      case 'int64':
      case 'timestamp':
        return makeData({ type, length, nullCount, nullBitmap, data: BigInt64Array.from(values, (v) => (v === null ? 0n : BigInt(v as bigint))) } as never);
      case 'int32':
        return makeData({ type, length, nullCount, nullBitmap, data: Int32Array.from(values, (v) => Number(v ?? 0)) } as never);
      case 'bool': {
        const bits = new Uint8Array(Math.ceil(length / 8));
        values.forEach((v, i) => v === true && (bits[i >> 3] |= 1 << (i & 7)));
        return makeData({ type, length, nullCount, nullBitmap, data: bits } as never);
      }
      default: {
        const parts = values.map((v) => encoder.encode(v === null ? '' : String(v)));
        const offsets = new Int32Array(length + 1);
        parts.forEach((p, i) => (offsets[i + 1] = offsets[i] + p.length));
        const bytes = new Uint8Array(offsets[length]);
        parts.forEach((p, i) => bytes.set(p, offsets[i]));
        return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, data: bytes } as never);
      }
    }
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

/** One line per row, columns joined by '|', nulls as \N, timestamps as epoch microseconds read from the buffers. */
export function canonicalRows(batches: Iterable<RecordBatch> | Table, def: DatasetDef): string[] {
  const out: string[] = [];
  for (const batch of (batches as Table).batches ?? (batches as Iterable<RecordBatch>)) {
    const lines: string[] = new Array(batch.numRows).fill('');
    def.columns.forEach((col, c) => {
      const vector = batch.getChild(col.name)!;
      const data = vector.data[0];
      for (let i = 0; i < batch.numRows; i++) {
        let text: string;
        if (!data.getValid(i)) text = '\\N';
        // Arrow JS slices value buffers: row i is element i whatever the data's offset.
        else if (vector.type.typeId === Type.Timestamp) text = String((data.values as BigInt64Array)[i]);
        else text = String(vector.get(i));
        lines[i] += (c === 0 ? '' : '|') + text;
      }
    });
    out.push(...lines);
  }
  return out;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
