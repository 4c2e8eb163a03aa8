export { rawDatasetNames, rawSchema, rawTable } from './raw.js';
export type { RawDatasetName, RawTables } from './raw.js';
export { decode } from './decode.js';
export type { TypedTables } from './decode.js';
export type { Allocate } from './writers.js';
export { rawTablesFromRpc } from './rpc.js';
export type { RpcBlock, RpcTransaction, RpcReceipt, RpcLog, Quantity, HexData } from './rpc.js';
export { Utf8Writer, Utf8ListWriter } from './writers.js';
