import { describe, expect, it } from 'vitest';
import { tableFromArrays, type Table } from 'apache-arrow';
import { tempDir } from '@chainlake/testkit';
import { Spool } from '../src/index.js';

const table = (n: number, offset = 0): Table =>
  tableFromArrays({ block_number: BigInt64Array.from({ length: n }, (_, i) => BigInt(i + offset)), label: Array.from({ length: n }, (_, i) => `row-${i + offset}`) });

async function collect(spool: Spool, key: string, dataset: string): Promise<number[]> {
  const out: number[] = [];
  for await (const batch of spool.get(key, dataset)!.batches()) {
    for (const v of batch.getChild('block_number')!) out.push(Number(v));
  }
  return out;
}

describe('Spool', () => {
  it('serves segments from memory and, past the memory budget, from disk', async () => {
    const dir = await tempDir('spool');
    const spool = await Spool.open({ dir: dir.path, memoryBytes: 10_000, maxBytes: 10_000_000 });
    await spool.put('a:0-99', { t: table(100) });
    await spool.put('a:100-1099', { t: table(1000, 100) });
    const usage = spool.usage();
    expect(usage.memoryBytes).toBeGreaterThan(0);
    expect(usage.diskBytes).toBeGreaterThan(0);
    expect(await collect(spool, 'a:0-99', 't')).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(await collect(spool, 'a:100-1099', 't')).toEqual(Array.from({ length: 1000 }, (_, i) => i + 100));
    expect(spool.get('a:0-99', 'missing')).toBeUndefined();
    await spool.close();
    expect(spool.usage()).toEqual({ segments: 0, memoryBytes: 0, diskBytes: 0 });
    await dir.remove();
  });

  it('makes a producer wait while full and lets it go when consumers are done', async () => {
    const dir = await tempDir('spool');
    const one = table(1000);
    const size = one.data.reduce((s, d) => s + d.byteLength, 0);
    const spool = await Spool.open({ dir: dir.path, memoryBytes: size * 10, maxBytes: size * 2 });
    await spool.put('s1', { t: one });
    spool.markAnnounced('s1', 1);
    await spool.put('s2', { t: one });
    spool.markAnnounced('s2', 2);
    let third = false;
    const pending = spool.put('s3', { t: one }).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBe(false);
    expect(await spool.releaseDone(0)).toBe(0);
    expect(await spool.releaseDone(1)).toBe(1);
    await pending;
    expect(third).toBe(true);
    expect(spool.has('s1')).toBe(false);
    expect(spool.has('s2')).toBe(true);
    await spool.close();
    await dir.remove();
  });

  it('with spill off, waits for room in memory instead of spilling to disk', async () => {
    const dir = await tempDir('spool');
    const one = table(1000);
    const size = one.data.reduce((s, d) => s + d.byteLength, 0);
    const spool = await Spool.open({ dir: dir.path, memoryBytes: size * 2, maxBytes: size * 100 });
    await spool.put('s1', { t: one }, { spill: false });
    spool.markAnnounced('s1', 1);
    await spool.put('s2', { t: one }, { spill: false });
    let third = false;
    const pending = spool.put('s3', { t: one }, { spill: false }).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBe(false);
    expect(await spool.releaseDone(1)).toBe(1);
    await pending;
    expect(spool.usage()).toMatchObject({ segments: 2, memoryBytes: size * 2, diskBytes: 0 });
    await spool.put('s4', { t: one });
    expect(spool.usage().diskBytes).toBe(size);
    await spool.close();
    await dir.remove();
  });

  it('stops waiting for room when the signal is aborted', async () => {
    const dir = await tempDir('spool');
    const spool = await Spool.open({ dir: dir.path, memoryBytes: 1 << 20, maxBytes: 1 });
    await spool.put('s1', { t: table(10) });
    const shutdown = new AbortController();
    const waiting = spool.put('s2', { t: table(10) }, { signal: shutdown.signal });
    shutdown.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    expect(spool.has('s2')).toBe(false);
    await spool.close();
    await dir.remove();
  });

  it('lets an urgent re-production past the limit and expires it after its ttl', async () => {
    const dir = await tempDir('spool');
    const spool = await Spool.open({ dir: dir.path, memoryBytes: 1, maxBytes: 1 });
    await spool.put('s1', { t: table(10) });
    await spool.put('s2', { t: table(10) }, { urgent: true, ttlMs: 1000 });
    expect(spool.usage().segments).toBe(2);
    expect(await spool.releaseDone(-1, Date.now() + 2000)).toBe(1);
    expect(spool.has('s2')).toBe(false);
    await spool.close();
    await dir.remove();
  });
});
