export { Spool, SpoolClosedError } from './spool.js';
export type { SpoolOptions, SpoolUsage, SpooledDataset } from './spool.js';
