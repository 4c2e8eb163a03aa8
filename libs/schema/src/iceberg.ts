import type { DatasetDef, LogicalType } from './datasets.js';

export interface IcebergField {
  id: number;
  name: string;
  required: boolean;
  type: string;
  doc?: string;
}

export interface IcebergSchema {
  type: 'struct';
  'schema-id': number;
  fields: IcebergField[];
}

const icebergTypes: Record<LogicalType, string> = {
  int64: 'long',
  int32: 'int',
  uint256: 'string',
  hex: 'string',
  string: 'string',
  timestamp: 'timestamptz',
  bool: 'boolean',
};

/** The Iceberg v2 table schema (JSON form) of a dataset; field ids are the columns' fieldIds. */
export function icebergSchema(def: DatasetDef, schemaId = 0): IcebergSchema {
  return {
    type: 'struct',
    'schema-id': schemaId,
    fields: def.columns.map((c) => ({
      id: c.fieldId,
      name: c.name,
      required: !c.nullable,
      type: icebergTypes[c.type],
      doc: c.doc,
    })),
  };
}
