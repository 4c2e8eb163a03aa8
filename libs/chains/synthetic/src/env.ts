import type { SyntheticChainOptions } from './chain.js';

/** Default genesis: 2024-01-01T00:00:00Z, fixed so that every run of the mesh sees the same chain. */
export const DEFAULT_GENESIS_MS = Date.UTC(2024, 0, 1);

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return value;
}

/** Milliseconds since the epoch, or an ISO 8601 date-time such as 2024-01-01T00:00:00Z. */
function timestamp(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new Error(`${name} must be milliseconds since the epoch or an ISO 8601 date-time, got "${env[name]}"`);
  }
  return value;
}

/**
 * Synthetic chain options from CHAINLAKE_CHAIN_ID (1337, shared by every service) and the
 * CHAINLAKE_SYNTHETIC_* variables (defaults in parentheses): SEED (1), BLOCK_TIME_MS (1000), TXS_PER_BLOCK (100), LOGS_PER_TX (2), FINALITY_DEPTH (64),
 * GENESIS_MS (2024-01-01T00:00:00Z; ms or ISO 8601), REORG_EVERY (0 = off), REORG_DEPTH (3).
 * An invalid value throws an Error naming the variable.
 */
export function syntheticOptionsFromEnv(env: NodeJS.ProcessEnv): SyntheticChainOptions {
  const finalityDepth = integer(env, 'CHAINLAKE_SYNTHETIC_FINALITY_DEPTH', 64, 0);
  const reorgEvery = integer(env, 'CHAINLAKE_SYNTHETIC_REORG_EVERY', 0, 0);
  const reorgDepth = integer(env, 'CHAINLAKE_SYNTHETIC_REORG_DEPTH', 3, 1);
  if (reorgEvery > 0 && reorgDepth >= finalityDepth) {
    throw new Error(
      `CHAINLAKE_SYNTHETIC_REORG_DEPTH (${reorgDepth}) must be below CHAINLAKE_SYNTHETIC_FINALITY_DEPTH (${finalityDepth}): finalized blocks never change`,
    );
  }
  return {
    seed: integer(env, 'CHAINLAKE_SYNTHETIC_SEED', 1, Number.MIN_SAFE_INTEGER),
    chainId: integer(env, 'CHAINLAKE_CHAIN_ID', 1337, 1),
    blockTimeMs: integer(env, 'CHAINLAKE_SYNTHETIC_BLOCK_TIME_MS', 1000, 1),
    txsPerBlock: number(env, 'CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK', 100, 0),
    logsPerTx: number(env, 'CHAINLAKE_SYNTHETIC_LOGS_PER_TX', 2, 0),
    finalityDepth,
    genesisTimestampMs: timestamp(env, 'CHAINLAKE_SYNTHETIC_GENESIS_MS', DEFAULT_GENESIS_MS),
    reorgEvery,
    reorgDepth,
  };
}
