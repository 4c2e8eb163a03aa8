export { SyntheticChain } from './chain.js';
export type { RawSegmentLease, SyntheticChainOptions } from './chain.js';
export { syntheticOptionsFromEnv, DEFAULT_GENESIS_MS } from './env.js';
