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
export { LocalWarehouse } from './warehouse.js';
export {
  type ManifestFile,
  type TableManifest,
  type ManifestStoreOptions,
  MANIFEST_FILE,
  ManifestStore,
  coveredRanges,
  sha256File,
} from './manifest.js';
