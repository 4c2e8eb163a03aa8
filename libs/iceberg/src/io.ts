import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface FileInfo {
  location: string;
  size: number;
  modifiedMs: number;
}

/** Where a table's files live, addressed by the locations that metadata records. */
export interface FileIO {
  read(location: string): Promise<Uint8Array>;
  /** Writes a whole file so that readers see the old content or the new, never a part; creates parent directories. */
  write(location: string, data: Uint8Array): Promise<void>;
  exists(location: string): Promise<boolean>;
  /** Deleting a missing file is not an error. */
  delete(location: string): Promise<void>;
  /** Every file under `prefix` (recursively), as locations of the same form as `prefix`. */
  list(prefix: string): AsyncIterable<FileInfo>;
}

/**
 * FileIO over the local file system: `file:` URIs (`file:///abs`, Hadoop's `file:/abs`) and absolute
 * paths. `mounts` maps other location prefixes onto local directories, e.g. a table whose location is
 * `http://127.0.0.1:8080/eth/transactions` (served by a static file server) written from the server's
 * directory: `{ 'http://127.0.0.1:8080/': '/srv/warehouse/' }`.
 */
export class LocalFileIO implements FileIO {
  private readonly mounts: [string, string][];

  constructor(options: { mounts?: Record<string, string> } = {}) {
    this.mounts = Object.entries(options.mounts ?? {}).sort(([a], [b]) => b.length - a.length);
  }

  /** The local path of a location; throws for a location it cannot map. */
  localPath(location: string): string {
    for (const [prefix, dir] of this.mounts) {
      if (location.startsWith(prefix)) return join(dir, ...decodeURIComponent(location.slice(prefix.length)).split('/'));
    }
    if (location.startsWith('file:')) return fileURLToPath(normalizeLocation(location));
    if (isAbsolute(location)) return resolve(location);
    throw new Error(`location ${location} is neither a file: URI, an absolute path nor under a mount`);
  }

  async read(location: string): Promise<Uint8Array> {
    return readFile(this.localPath(location));
  }

  async write(location: string, data: Uint8Array): Promise<void> {
    const path = this.localPath(location);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomUUID()}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
      await handle.close();
      await rename(temp, path);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async exists(location: string): Promise<boolean> {
    try {
      await stat(this.localPath(location));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async delete(location: string): Promise<void> {
    await rm(this.localPath(location), { force: true });
  }

  async *list(prefix: string): AsyncIterable<FileInfo> {
    const root = this.localPath(prefix);
    const base = prefix.replace(/\/+$/, '');
    let entries;
    try {
      entries = await readdir(root, { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const info = await stat(path).catch(() => undefined);
      if (!info) continue; // deleted meanwhile
      // The same spelling as writers use: file URIs as pathToFileURL makes them, mounted locations unescaped.
      const location = prefix.startsWith('file:')
        ? pathToFileURL(path).href
        : isAbsolute(prefix)
          ? path
          : `${base}/${path.slice(root.length + 1).split(sep).join('/')}`;
      yield { location, size: info.size, modifiedMs: info.mtimeMs };
    }
  }
}

/** One spelling per local file: `file:/abs`, `file:///abs` and `/abs` all become `file:///abs`; other locations are unchanged. */
export function normalizeLocation(location: string): string {
  if (location.startsWith('file:')) {
    const path = location.replace(/^file:(\/\/localhost)?\/*/, '/');
    return pathToFileURL(decodeURIComponent(path)).href;
  }
  if (location.startsWith('/')) return pathToFileURL(location).href;
  return location;
}

/** `<base>/<name>` without a doubled slash. */
export function joinLocation(base: string, ...names: string[]): string {
  return [base.replace(/\/+$/, ''), ...names].join('/');
}
