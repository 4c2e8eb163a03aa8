import { describe, it, expect } from 'vitest';
import { DEFAULT_GENESIS_MS, syntheticOptionsFromEnv } from '../src/index.js';

describe('syntheticOptionsFromEnv', () => {
  it('has documented defaults', () => {
    expect(syntheticOptionsFromEnv({})).toEqual({
      seed: 1,
      chainId: 1337,
      blockTimeMs: 1000,
      txsPerBlock: 100,
      logsPerTx: 2,
      finalityDepth: 64,
      genesisTimestampMs: Date.parse('2024-01-01T00:00:00Z'),
      reorgEvery: 0,
      reorgDepth: 3,
    });
    expect(DEFAULT_GENESIS_MS).toBe(1704067200000);
  });

  it('reads every variable', () => {
    expect(
      syntheticOptionsFromEnv({
        CHAINLAKE_SYNTHETIC_SEED: '42',
        CHAINLAKE_CHAIN_ID: '31337',
        CHAINLAKE_SYNTHETIC_BLOCK_TIME_MS: '250',
        CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: '500',
        CHAINLAKE_SYNTHETIC_LOGS_PER_TX: '1.5',
        CHAINLAKE_SYNTHETIC_FINALITY_DEPTH: '12',
        CHAINLAKE_SYNTHETIC_GENESIS_MS: '2025-06-01T12:00:00Z',
        CHAINLAKE_SYNTHETIC_REORG_EVERY: '100',
        CHAINLAKE_SYNTHETIC_REORG_DEPTH: '5',
      }),
    ).toEqual({
      seed: 42,
      chainId: 31337,
      blockTimeMs: 250,
      txsPerBlock: 500,
      logsPerTx: 1.5,
      finalityDepth: 12,
      genesisTimestampMs: Date.parse('2025-06-01T12:00:00Z'),
      reorgEvery: 100,
      reorgDepth: 5,
    });
    expect(syntheticOptionsFromEnv({ CHAINLAKE_SYNTHETIC_GENESIS_MS: '1700000000000' }).genesisTimestampMs).toBe(1700000000000);
  });

  it.each([
    ['CHAINLAKE_SYNTHETIC_SEED', '1.5'],
    ['CHAINLAKE_CHAIN_ID', '0'],
    ['CHAINLAKE_SYNTHETIC_BLOCK_TIME_MS', 'fast'],
    ['CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK', '-1'],
    ['CHAINLAKE_SYNTHETIC_LOGS_PER_TX', 'two'],
    ['CHAINLAKE_SYNTHETIC_FINALITY_DEPTH', '-3'],
    ['CHAINLAKE_SYNTHETIC_GENESIS_MS', 'yesterday'],
    ['CHAINLAKE_SYNTHETIC_REORG_EVERY', '1e400'],
    ['CHAINLAKE_SYNTHETIC_REORG_DEPTH', '0'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => syntheticOptionsFromEnv({ [name]: value })).toThrow(new RegExp(`^${name} must be .*"${value}"`));
  });

  it('rejects reorgs as deep as finality, naming both variables', () => {
    expect(() =>
      syntheticOptionsFromEnv({ CHAINLAKE_SYNTHETIC_REORG_EVERY: '10', CHAINLAKE_SYNTHETIC_REORG_DEPTH: '64' }),
    ).toThrow('CHAINLAKE_SYNTHETIC_REORG_DEPTH (64) must be below CHAINLAKE_SYNTHETIC_FINALITY_DEPTH (64)');
  });
});
