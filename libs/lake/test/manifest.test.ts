import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { readdir, readFile, writeFile, mkdir, utimes } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '@chainlake/testkit';
import { LocalWarehouse, ManifestStore, coveredRanges, sha256File, type ManifestFile, type TableManifest } from '../src/index.js';

let dir: { path: string; remove: () => Promise<void> };
let warehouse: LocalWarehouse;
let store: ManifestStore;
beforeEach(async () => {
  dir = await tempDir('lake-manifest');
  warehouse = new LocalWarehouse(dir.path);
  store = new ManifestStore(warehouse);
});
afterEach(async () => {
  await dir.remove();
});

function file(start: number, end: number, writeId = 'w'): ManifestFile {
  return {
    path: `data/block_range=0-9999/blocks_${start}_${end}_0-${writeId}.parquet`,
    partition: 'block_range=0-9999',
    start,
    end,
    rows: end - start + 1,
    bytes: 1000,
    sha256: 'a'.repeat(64),
    writeId,
    addedAt: new Date().toISOString(),
  };
}

const manifestOf = (...ranges: Array<[number, number]>): TableManifest => ({
  formatVersion: 1,
  namespace: 'eth',
  table: 'blocks',
  files: ranges.map(([s, e]) => file(s, e)),
  updatedAt: '',
});

describe('ManifestStore', () => {
  it('reads an empty manifest for a new table and what update wrote afterwards', async () => {
    expect(await store.read('eth', 'blocks')).toMatchObject({ formatVersion: 1, namespace: 'eth', table: 'blocks', files: [] });
    const written = await store.update('eth', 'blocks', (m) => ({ ...m, files: [...m.files, file(0, 99)] }));
    expect(await store.read('eth', 'blocks')).toEqual(written);
    expect(written.files).toHaveLength(1);
    expect(Date.parse(written.updatedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await readdir(warehouse.tableDir('eth', 'blocks'))).sort()).toEqual(['manifest.json']);
  });

  it('keeps all 20 files added by 20 concurrent updates', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.update('eth', 'blocks', async (m) => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
          return { ...m, files: [...m.files, file(i * 100, i * 100 + 99, `w${i}`)] };
        }),
      ),
    );
    const manifest = await store.read('eth', 'blocks');
    expect(manifest.files.map((f) => f.writeId).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `w${i}`).sort());
    expect(coveredRanges(manifest)).toEqual([{ start: 0, end: 1999 }]);
  });

  it('serialises updates from separate stores (as separate processes would be)', async () => {
    const stores = [store, new ManifestStore(warehouse), new ManifestStore(warehouse)];
    await Promise.all(
      Array.from({ length: 9 }, (_, i) => stores[i % 3].update('eth', 'blocks', (m) => ({ ...m, files: [...m.files, file(i, i, `s${i}`)] }))),
    );
    expect((await store.read('eth', 'blocks')).files).toHaveLength(9);
  });

  it('names the file and the problem when the manifest is corrupt', async () => {
    const path = store.manifestPath('eth', 'blocks');
    await mkdir(warehouse.tableDir('eth', 'blocks'), { recursive: true });
    await writeFile(path, '{"formatVersion": 1, "namespace": "eth"');
    await expect(store.read('eth', 'blocks')).rejects.toThrow(`corrupt manifest ${path}: not JSON`);
    await writeFile(path, JSON.stringify({ ...manifestOf([0, 9]), files: [{ ...file(0, 9), rows: -1 }] }));
    await expect(store.read('eth', 'blocks')).rejects.toThrow(/corrupt manifest .*manifest\.json: files\.0\.rows/);
    await expect(store.update('eth', 'blocks', (m) => m)).rejects.toThrow(/corrupt manifest/);
  });

  it('refuses to write an invalid manifest and leaves the old one', async () => {
    await store.update('eth', 'blocks', (m) => ({ ...m, files: [file(0, 9)] }));
    await expect(store.update('eth', 'blocks', (m) => ({ ...m, files: [{ ...file(0, 9), sha256: 'nope' }] }))).rejects.toThrow(
      /invalid manifest for eth\.blocks: files\.0\.sha256/,
    );
    expect((await store.read('eth', 'blocks')).files[0].sha256).toBe('a'.repeat(64));
  });

  it('releases the lock when fn throws', async () => {
    await expect(store.withTableLock('eth', 'blocks', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await store.withTableLock('eth', 'blocks', async () => 'again')).toBe('again');
  });

  it('breaks the lock of a dead process, and one older than the stale timeout', async () => {
    const lockPath = join(warehouse.tableDir('eth', 'blocks'), 'manifest.lock');
    await mkdir(warehouse.tableDir('eth', 'blocks'), { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    await writeFile(lockPath, JSON.stringify({ pid: dead, at: Date.now(), token: 'x' }));
    expect(await store.withTableLock('eth', 'blocks', async () => 'taken')).toBe('taken');

    await writeFile(lockPath, JSON.stringify({ pid: process.pid, at: 0, token: 'old' }));
    const old = new Date(Date.now() - 120_000);
    await utimes(lockPath, old, old);
    expect(await store.withTableLock('eth', 'blocks', async () => 'taken again')).toBe('taken again');
  });

  it('never lets the lock exist without its owner in it, and leaves no candidate file behind', async () => {
    const dir = warehouse.tableDir('eth', 'blocks');
    const seen = await store.withTableLock('eth', 'blocks', async () => JSON.parse(await readFile(join(dir, 'manifest.lock'), 'utf8')) as { pid: number });
    expect(seen.pid).toBe(process.pid);
    expect((await readdir(dir)).filter((f) => f.startsWith('manifest.lock'))).toEqual([]);
  });

  it('times out, naming the lock, while a live process holds it', async () => {
    const impatient = new ManifestStore(warehouse, { lockTimeoutMs: 200 });
    await store.withTableLock('eth', 'blocks', async () => {
      await expect(impatient.withTableLock('eth', 'blocks', async () => 'never')).rejects.toThrow(/timed out .*manifest\.lock/);
    });
  });

  it('rejects table names that would escape the warehouse', async () => {
    await expect(store.read('..', 'blocks')).rejects.toThrow(/invalid namespace name/);
  });
});

describe('coveredRanges', () => {
  it('merges adjacent and overlapping ranges and sorts them', () => {
    expect(coveredRanges(manifestOf([20, 29], [0, 9], [10, 14], [12, 15], [40, 49], [41, 42], [50, 50]))).toEqual([
      { start: 0, end: 15 },
      { start: 20, end: 29 },
      { start: 40, end: 50 },
    ]);
    expect(coveredRanges(manifestOf())).toEqual([]);
  });
});

describe('sha256File', () => {
  it('hashes the file contents', async () => {
    const path = join(dir.path, 'x.txt');
    await writeFile(path, 'abc');
    expect(await sha256File(path)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
