import { producerConfigShape } from '@chainlake/segments';
import { env, type ConfigOf } from '@chainlake/service';

export type TransformerConfig = ConfigOf<typeof transformerConfigShape>;

export const transformerConfigShape = {
  ...producerConfigShape('transformer', 50052),
  CHAINLAKE_TRANSFORMER_CONCURRENCY: env.int(2, { min: 1, max: 64 }),
  CHAINLAKE_ACK_WAIT_MS: env.int(60_000, { min: 1000 }),
};
