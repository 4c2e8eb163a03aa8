export { uniquePrefix, testNatsUrl, testPgUrl } from './env.js';
export { freePort } from './ports.js';
export { tempDir } from './temp.js';
export { spawnService, nodeFlags, repoRoot } from './process.js';
export { probeServiceShell } from './shell.js';
export type { ShellProbe } from './shell.js';
export type { ServiceProcess, LogLine } from './process.js';
export { allowFileFetch } from './file-fetch.js';
