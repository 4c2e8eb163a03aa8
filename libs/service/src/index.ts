export { advertisedHost, ConfigError, commonConfigShape, env, loadConfig } from './config.js';
export { createMetrics, type Metrics } from './metrics.js';
export { runService, type ConfigOf, type ServiceContext, type ServiceDefinition } from './run.js';
