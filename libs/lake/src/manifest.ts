import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { LocalWarehouse } from './warehouse.js';

export interface ManifestFile {
  /** Relative to the table dir, e.g. `data/block_range=0-9999/blocks_0_9999_0-abc.parquet`. */
  path: string;
  partition: string;
  start: number;
  end: number;
  rows: number;
  bytes: number;
  sha256: string;
  writeId: string;
  addedAt: string;
}

export interface TableManifest {
  formatVersion: 1;
  namespace: string;
  table: string;
  files: ManifestFile[];
  updatedAt: string;
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const manifestSchema = z.object({
  formatVersion: z.literal(1),
  namespace: z.string(),
  table: z.string(),
  files: z.array(
    z.object({
      path: z.string().min(1),
      partition: z.string(),
      start: count,
      end: count,
      rows: count,
      bytes: count,
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      writeId: z.string(),
      addedAt: z.string(),
    }),
  ),
  updatedAt: z.string(),
});

export const MANIFEST_FILE = 'manifest.json';

export interface ManifestStoreOptions {
  /** A lock older than this is taken to be abandoned and broken (default 60 s). */
  staleLockMs?: number;
  /** Give up waiting for a lock after this long (default 30 s). */
  lockTimeoutMs?: number;
}

interface LockOwner {
  pid: number;
  at: number;
  token: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `manifest.json` per table: read, and rewritten atomically under a per-table lock. */
export class ManifestStore {
  private readonly staleLockMs: number;
  private readonly lockTimeoutMs: number;

  constructor(
    private readonly warehouse: LocalWarehouse,
    options: ManifestStoreOptions = {},
  ) {
    this.staleLockMs = options.staleLockMs ?? 60_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
  }

  manifestPath(namespace: string, table: string): string {
    return join(this.warehouse.tableDir(namespace, table), MANIFEST_FILE);
  }

  /** The table's manifest; an empty one when the table has none yet. */
  async read(namespace: string, table: string): Promise<TableManifest> {
    const path = this.manifestPath(namespace, table);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { formatVersion: 1, namespace, table, files: [], updatedAt: new Date(0).toISOString() };
      }
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`corrupt manifest ${path}: not JSON (${(error as Error).message})`);
    }
    const parsed = manifestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`corrupt manifest ${path}: ${issue.path.join('.') || 'document'}: ${issue.message}`);
    }
    if (parsed.data.namespace !== namespace || parsed.data.table !== table) {
      throw new Error(`corrupt manifest ${path}: it names table ${parsed.data.namespace}.${parsed.data.table}`);
    }
    return parsed.data as TableManifest;
  }

  /**
   * Runs fn on the current manifest under the table lock and writes what it returns atomically
   * (temporary file, fsync, rename, fsync of the directory). Returns the manifest written.
   */
  update(
    namespace: string,
    table: string,
    fn: (current: TableManifest) => Promise<TableManifest> | TableManifest,
  ): Promise<TableManifest> {
    return this.withTableLock(namespace, table, async () => {
      const next = await fn(await this.read(namespace, table));
      const manifest: TableManifest = { ...next, formatVersion: 1, namespace, table, updatedAt: new Date().toISOString() };
      const checked = manifestSchema.safeParse(manifest);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new Error(`refusing to write an invalid manifest for ${namespace}.${table}: ${issue.path.join('.')}: ${issue.message}`);
      }
      await this.writeAtomically(this.manifestPath(namespace, table), `${JSON.stringify(manifest, null, 2)}\n`);
      return manifest;
    });
  }

  /**
   * Runs fn holding the table's lock: a `manifest.lock` file created with O_EXCL. A lock whose
   * owner process is gone, or older than staleLockMs, is broken.
   */
  async withTableLock<T>(namespace: string, table: string, fn: () => Promise<T>): Promise<T> {
    const dir = this.warehouse.tableDir(namespace, table);
    await mkdir(dir, { recursive: true });
    const lockPath = join(dir, 'manifest.lock');
    const owner: LockOwner = { pid: process.pid, at: Date.now(), token: Math.random().toString(36).slice(2) };
    const deadline = Date.now() + this.lockTimeoutMs;
    // The lock appears with its owner already in it (hard link of a written file, atomic and
    // exclusive), so a process killed while taking it never leaves a lock nobody can judge.
    const candidate = `${lockPath}.${process.pid}-${owner.token}`;
    await writeFile(candidate, JSON.stringify(owner));
    let wait = 2;
    try {
      for (;;) {
        try {
          await link(candidate, lockPath);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        await this.breakIfStale(lockPath);
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${this.lockTimeoutMs} ms waiting for the lock ${lockPath}`);
        }
        await sleep(wait + Math.random() * wait);
        wait = Math.min(wait * 2, 100);
      }
    } finally {
      await rm(candidate, { force: true });
    }
    try {
      return await fn();
    } finally {
      await this.release(lockPath, owner.token);
    }
  }

  private async breakIfStale(lockPath: string): Promise<void> {
    let text: string;
    let age: number;
    try {
      const [content, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
      text = content;
      age = Date.now() - info.mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let holder: Partial<LockOwner> = {};
    try {
      holder = JSON.parse(text) as LockOwner;
    } catch {
      // Being written by its owner right now, or torn by a crash: judged by age alone.
    }
    const ownerDead = typeof holder.pid === 'number' && !isAlive(holder.pid);
    if (!ownerDead && age <= this.staleLockMs) return;
    // Claim the stale lock by renaming it, then check that what we claimed is the lock we judged:
    // another process may have broken it and taken a fresh lock in between.
    const claimed = `${lockPath}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await rename(lockPath, claimed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const claimedText = await readFile(claimed, 'utf8').catch(() => text);
    if (claimedText !== text) await link(claimed, lockPath).catch(() => {});
    await rm(claimed, { force: true });
  }

  private async release(lockPath: string, token: string): Promise<void> {
    const text = await readFile(lockPath, 'utf8').catch(() => '');
    if (text.includes(token)) await rm(lockPath, { force: true });
  }

  private async writeAtomically(path: string, content: string): Promise<void> {
    const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    const dir = await open(join(path, '..'), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** The merged, sorted union of the block ranges of a manifest's files. */
export function coveredRanges(manifest: TableManifest): Array<{ start: number; end: number }> {
  const ranges = manifest.files.map((file) => ({ start: file.start, end: file.end })).sort((a, b) => a.start - b.start);
  const merged: Array<{ start: number; end: number }> = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last && range.start <= last.end + 1) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
