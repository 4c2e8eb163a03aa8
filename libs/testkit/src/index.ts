export { uniquePrefix, testNatsUrl, testPgUrl } from './env.js';
export { freePort } from './ports.js';
export { tempDir } from './temp.js';
