export {
  type LakeTable,
  type LakeTableProvider,
  type QueryOptions,
  type QueryResult,
  type SqlEngineOptions,
  type StatementDescription,
  type TableView,
  SqlEngine,
} from './engine.js';
export { SqlError } from './errors.js';
export { type SqlParams, type SqlValue } from './params.js';
