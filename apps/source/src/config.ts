import { producerConfigShape } from '@chainlake/segments';
import { env, type ConfigOf } from '@chainlake/service';

export type SourceConfig = ConfigOf<typeof sourceConfigShape>;

export const sourceConfigShape = {
  ...producerConfigShape('source', 50051),
  CHAINLAKE_SOURCE_CHAIN: env.enumOf(['synthetic'] as const, 'synthetic'),
  CHAINLAKE_BACKFILL_FROM: env.optionalInt(),
  CHAINLAKE_BACKFILL_TO: env.optionalInt(),
  CHAINLAKE_SEGMENT_BLOCKS: env.int(100, { min: 1, max: 100_000 }),
  CHAINLAKE_SEGMENT_INTERVAL_MS: env.int(2000, { min: 10 }),
  CHAINLAKE_POLL_INTERVAL_MS: env.int(250, { min: 10 }),
};
