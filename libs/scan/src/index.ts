export { ScanRequestError, type ScanRequestProblem } from './errors.js';
export {
  type ColumnKind,
  type Between,
  type Comparison,
  type ComparisonOp,
  type InList,
  type Junction,
  type LeafPredicate,
  type Literal,
  type Predicate,
  columnKind,
  parseWhere,
  predicateColumns,
} from './predicate.js';
export { type RowMatcher, compilePredicate } from './evaluate.js';
export { type ColumnStats, type StatsLookup, mayMatch } from './prune.js';
export {
  type ScanFile,
  type ScanOptions,
  type ScanPlan,
  type ScanRequest,
  type ScanStats,
  type TableScan,
  filterBatch,
  planScan,
  scanTable,
} from './scan.js';
export { manifestFilter, scanFileFromDataFile, scanFilesFromDataFiles } from './iceberg.js';
