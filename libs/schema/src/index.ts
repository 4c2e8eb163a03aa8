export type { LogicalType, ColumnDef, DatasetDef } from './datasets.js';
export { blocks, transactions, logs, evmDatasets, dataset } from './datasets.js';
export { arrowSchema, LOGICAL_TYPE_KEY, FIELD_ID_KEY, DATASET_KEY } from './arrow.js';
export type { IcebergSchema, IcebergField } from './iceberg.js';
export { icebergSchema } from './iceberg.js';
export { postgresDdl, quoteIdent } from './postgres.js';
export { RowError, toInt64, INT64_MAX } from './errors.js';
export type { RowErrorLocation } from './errors.js';
