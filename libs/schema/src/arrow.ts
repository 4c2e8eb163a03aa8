import { Bool, DataType, Field, Int32, Int64, Schema, TimestampMicrosecond, Utf8 } from 'apache-arrow';
import type { DatasetDef, LogicalType } from './datasets.js';

/** Field metadata key holding the column's LogicalType (uint256 and hex both travel as Utf8). */
export const LOGICAL_TYPE_KEY = 'chainlake.logical_type';
/** Field metadata key Parquet writers (Arrow C++, parquet-wasm) turn into the Parquet field id. */
export const FIELD_ID_KEY = 'PARQUET:field_id';
/** Schema metadata key naming the dataset. */
export const DATASET_KEY = 'chainlake.dataset';

function arrowType(type: LogicalType): DataType {
  switch (type) {
    case 'int64':
      return new Int64();
    case 'int32':
      return new Int32();
    case 'timestamp':
      return new TimestampMicrosecond('UTC');
    case 'bool':
      return new Bool();
    case 'uint256':
    case 'hex':
    case 'string':
      return new Utf8();
  }
}

const cache = new WeakMap<DatasetDef, Schema>();

/** The Arrow schema of a dataset; the same instance on every call. */
export function arrowSchema(def: DatasetDef): Schema {
  let schema = cache.get(def);
  if (!schema) {
    const fields = def.columns.map(
      (c) =>
        new Field(
          c.name,
          arrowType(c.type),
          c.nullable,
          new Map([
            [LOGICAL_TYPE_KEY, c.type],
            [FIELD_ID_KEY, String(c.fieldId)],
          ]),
        ),
    );
    schema = new Schema(fields, new Map([[DATASET_KEY, def.name]]));
    cache.set(def, schema);
  }
  return schema;
}
