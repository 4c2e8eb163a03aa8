export {
  type FlightSqlCommand,
  type FlightSqlMessage,
  type FlightSqlMessageInput,
  type MessageName,
  FlightSqlProtocolError,
  TYPE_URL_PREFIX,
  anyMessageName,
  decodeMessage,
  encodeMessage,
  packAny,
  unpackAny,
} from './messages.js';
export {
  type SqlInfoValue,
  type TableRow,
  CATALOGS_SCHEMA,
  DB_SCHEMAS_SCHEMA,
  SQL_INFO_SCHEMA,
  TABLE_TYPES_SCHEMA,
  catalogsBatch,
  dbSchemasBatch,
  sqlInfoBatch,
  tableTypesBatch,
  tablesBatch,
  tablesSchema,
} from './results.js';
export { SqlInfo, SqlInfoBit, SqlInfoOrdinal, bitmask } from './sql-info.js';
export { matchesPattern } from './patterns.js';
