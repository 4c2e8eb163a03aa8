import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Dictionary, Int32, tableFromArrays, Utf8, vectorFromArray, Table } from 'apache-arrow';
import { SlabArena } from '@chainlake/arena';
import { tempDir } from '@chainlake/testkit';
import { Spool, tableBytes } from '../src/index.js';

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

  it('with spill off, puts started together do not all take the same room', async () => {
    const dir = await tempDir('spool');
    const one = table(1000);
    const size = one.data.reduce((s, d) => s + d.byteLength, 0);
    const spool = await Spool.open({ dir: dir.path, memoryBytes: size, maxBytes: size * 100 });
    const done: string[] = [];
    const puts = ['s1', 's2', 's3'].map((key) => spool.put(key, { t: one }, { spill: false }).then(() => done.push(key)));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toHaveLength(1);
    expect(spool.usage()).toEqual({ segments: 1, memoryBytes: size, diskBytes: 0 });
    await spool.release(done[0]);
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toHaveLength(2);
    expect(spool.usage()).toEqual({ segments: 1, memoryBytes: size, diskBytes: 0 });
    await spool.release(done[1]);
    await Promise.all(puts);
    expect(spool.usage()).toEqual({ segments: 1, memoryBytes: size, diskBytes: 0 });
    await spool.close();
    await dir.remove();
  });

  it('leaves no listener on the signal after waits for room that ended', async () => {
    const dir = await tempDir('spool');
    const one = table(10);
    const spool = await Spool.open({ dir: dir.path, memoryBytes: 1 << 20, maxBytes: tableBytes(one) });
    const service = new AbortController();
    for (let i = 0; i < 20; i++) {
      const waiting = spool.put(`s${i + 1}`, { t: one }, { signal: service.signal });
      await new Promise((r) => setTimeout(r, 1));
      await spool.release(`s${i}`);
      await waiting;
    }
    expect(getEventListeners(service.signal, 'abort')).toHaveLength(0);
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

  it('copies segments into its arena, gives the caller\'s memory back at once, and its own only after the last reader', async () => {
    const dir = await tempDir('spool');
    const arena = new SlabArena({ maxBytes: 1 << 20, slabBytes: 64 * 1024 });
    const spool = await Spool.open({ dir: dir.path, memoryBytes: 1 << 20, maxBytes: 1 << 22, arena });
    const statuses = vectorFromArray(['ok', null, 'failed', 'ok'], new Dictionary(new Utf8(), new Int32()));
    const source = new Table({
      block_number: vectorFromArray([10n, 11n, 12n, 13n]),
      memo: vectorFromArray(['a', null, 'ccc', '']),
      status: statuses,
    }).slice(1);
    const expected = source.toArray().map((row) => row.toJSON());
    let callerReleased = 0;
    await spool.put('k', { t: source }, { memory: { release: () => callerReleased++ } });
    expect(callerReleased).toBe(1);
    expect(arena.usage().leasedBytes).toBe(64 * 1024);

    const reader = spool.get('k', 't')!;
    const rows: unknown[] = [];
    for await (const batch of reader.batches()) {
      expect(batch.getChild('memo')!.data[0].values.buffer.byteLength).toBe(64 * 1024);
      rows.push(...batch.toArray().map((row) => row.toJSON()));
    }
    expect(rows).toEqual(expected);
    await spool.release('k');
    expect(arena.usage().leasedBytes).toBe(64 * 1024); // still held by the reader
    reader.done();
    reader.done();
    expect(arena.usage().leasedBytes).toBe(0);
    await spool.close();
    await dir.remove();
  });

  it('without an arena keeps the caller\'s memory until the segment is released; spilled to disk, gives it back at once', async () => {
    const dir = await tempDir('spool');
    const spool = await Spool.open({ dir: dir.path, memoryBytes: 10_000, maxBytes: 10_000_000 });
    const released: string[] = [];
    await spool.put('small', { t: table(10) }, { memory: { release: () => released.push('small') } });
    await spool.put('large', { t: table(5000) }, { memory: { release: () => released.push('large') } });
    expect(released).toEqual(['large']);
    await spool.release('small');
    expect(released).toEqual(['large', 'small']);
    await spool.close();
    await dir.remove();
  });
});
