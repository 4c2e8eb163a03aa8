import { env, type ConfigOf } from '@chainlake/service';

export type AnalyticsConfig = ConfigOf<typeof analyticsConfigShape>;

export const analyticsConfigShape = {
  /** Flight server: DoGet `{"analytics":"<name>"}` returns a definition's latest results as Arrow. */
  CHAINLAKE_FLIGHT_PORT: env.int(50054, { min: 0, max: 65535 }),
  /** A JSON or YAML file of definitions (a list, or `{definitions: [...]}`) put into the shared registry at start. */
  CHAINLAKE_ANALYTICS_DEFINITIONS: env.string(''),
  CHAINLAKE_ANALYTICS_CHECKPOINT_INTERVAL_MS: env.int(2000, { min: 100 }),
  CHAINLAKE_ACK_WAIT_MS: env.int(60_000, { min: 1000 }),
  /** How long a segment waits for the one before it; 0 = twice the ack wait (a crashed replica's segments come back after one). */
  CHAINLAKE_ANALYTICS_MAX_GAP_WAIT_MS: env.int(0, { min: 0 }),
  /** One replica computes; a standby takes over once the leader's lease has not been renewed for this long. */
  CHAINLAKE_ANALYTICS_LEASE_MS: env.int(10_000, { min: 1000 }),
};
