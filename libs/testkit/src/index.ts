export { uniquePrefix, testNatsUrl, testPgUrl } from './env.js';
export { freePort } from './ports.js';
export { tempDir } from './temp.js';
export { spawnService, repoRoot } from './process.js';
export type { ServiceProcess, LogLine } from './process.js';
