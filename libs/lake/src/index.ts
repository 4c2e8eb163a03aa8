export {
  type ParquetCompression,
  type ParquetWriteOptions,
  type WrittenFile,
  DEFAULT_ROW_GROUP_ROWS,
  ParquetWriterPool,
  writeParquet,
  readParquet,
  parquetRowCount,
} from './parquet.js';
