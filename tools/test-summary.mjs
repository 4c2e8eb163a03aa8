// Reads the combined vitest output of every project on stdin and prints one closing line,
// "N passed, N failed[, N skipped]", so the whole run has a single verdict to read.
import { createInterface } from 'node:readline';

const totals = { passed: 0, failed: 0, skipped: 0 };
for await (const raw of createInterface({ input: process.stdin })) {
  const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
  if (!/^\s*Tests\s/.test(line)) continue;
  for (const [, n, kind] of line.matchAll(/(\d+) (passed|failed|skipped)/g)) totals[kind] += Number(n);
}
console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
