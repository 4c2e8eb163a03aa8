export { SyntheticChain } from './chain.js';
export type { SyntheticChainOptions } from './chain.js';
export { syntheticOptionsFromEnv, DEFAULT_GENESIS_MS } from './env.js';
