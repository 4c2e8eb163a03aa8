export { Spool, SpoolClosedError, tableBytes } from './spool.js';
export type { SpoolOptions, SpoolUsage, SpooledDataset } from './spool.js';
