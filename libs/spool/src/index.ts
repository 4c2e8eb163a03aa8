export { Spool, SpoolClosedError, tableBytes } from './spool.js';
export type { Releasable, SpoolOptions, SpoolUsage, SpooledDataset } from './spool.js';
