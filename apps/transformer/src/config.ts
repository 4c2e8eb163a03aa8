import { env, type ConfigOf } from '@chainlake/service';

export type TransformerConfig = ConfigOf<typeof transformerConfigShape>;

export const transformerConfigShape = {
  CHAINLAKE_FLIGHT_PORT: env.int(50052, { min: 0, max: 65535 }),
  CHAINLAKE_TRANSFORMER_CONCURRENCY: env.int(2, { min: 1, max: 64 }),
  CHAINLAKE_ACK_WAIT_MS: env.int(60_000, { min: 1000 }),
  CHAINLAKE_SPOOL_DIR: env.string('./data/spool/transformer'),
  CHAINLAKE_SPOOL_MEMORY_MB: env.int(256, { min: 1 }),
  CHAINLAKE_SPOOL_MAX_MB: env.int(2048, { min: 1 }),
};
