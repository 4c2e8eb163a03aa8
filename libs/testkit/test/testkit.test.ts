import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, tempDir, uniquePrefix } from '../src/index.js';

describe('testkit', () => {
  it('gives prefixes that are valid subject tokens and never repeat', () => {
    const prefixes = new Set(Array.from({ length: 1000 }, () => uniquePrefix('x')));
    expect(prefixes.size).toBe(1000);
    for (const p of prefixes) expect(p).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('finds a port that can be bound', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    server.close();
  });

  it('creates and removes temp dirs', async () => {
    const dir = await tempDir('t');
    expect(existsSync(dir.path)).toBe(true);
    await dir.remove();
    expect(existsSync(dir.path)).toBe(false);
  });
});
