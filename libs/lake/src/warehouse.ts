import { randomBytes } from 'node:crypto';
import { mkdir, open, opendir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';

const NAME = /^[a-z][a-z0-9_]*$/;
const PARTITION_SEGMENT = /^[a-z][a-z0-9_]*=[A-Za-z0-9_.-]+$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.=-]*$/;

function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new Error(`invalid ${kind} name '${String(name)}': expected [a-z][a-z0-9_]*`);
  }
}

function checkFileName(name: string): void {
  if (typeof name !== 'string' || !FILE_NAME.test(name) || name.includes('..')) {
    throw new Error(`invalid file name '${String(name)}': expected letters, digits and _ . = - without a path`);
  }
}

async function fsyncPath(path: string, flags: 'r' | 'r+' = 'r'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A warehouse on the local file system: `<root>/<namespace>/<table>/data/<partition>/<file>`,
 * files written under `<root>/_staging/` and renamed into place once complete.
 */
export class LocalWarehouse {
  readonly root: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root === '') throw new Error('warehouse root must be a non-empty path');
    this.root = resolve(root);
  }

  get stagingDir(): string {
    return join(this.root, '_staging');
  }

  /** `<root>/<namespace>/<table>`; both names must match [a-z][a-z0-9_]*, so no path can escape the root. */
  tableDir(namespace: string, table: string): string {
    checkName('namespace', namespace);
    checkName('table', table);
    return join(this.root, namespace, table);
  }

  /** `<table dir>/data/<partitionPath>/<fileName>`; partitionPath is one or more `key=value` segments. */
  dataPath(namespace: string, table: string, partitionPath: string, fileName: string): string {
    const segments = typeof partitionPath === 'string' ? partitionPath.split('/') : [];
    if (segments.length === 0 || !segments.every((segment) => PARTITION_SEGMENT.test(segment) && !segment.includes('..'))) {
      throw new Error(`invalid partition path '${String(partitionPath)}': expected key=value segments such as block_range=0-9999`);
    }
    checkFileName(fileName);
    return join(this.tableDir(namespace, table), 'data', ...segments, fileName);
  }

  /** A fresh path `<root>/_staging/<unique>-<fileName>` to write a file before publishing it; the directory exists. */
  async stagingPath(fileName: string): Promise<string> {
    checkFileName(fileName);
    await mkdir(this.stagingDir, { recursive: true });
    return join(this.stagingDir, `${randomBytes(8).toString('hex')}-${fileName}`);
  }

  /**
   * Moves a complete staged file to its final path: fsync the file, create the directories,
   * rename (atomic on one file system, so readers see the whole file or nothing), fsync the directory.
   */
  async publish(stagingPath: string, finalPath: string): Promise<void> {
    const staged = resolve(stagingPath);
    const target = resolve(finalPath);
    if (dirname(staged) !== this.stagingDir) throw new Error(`cannot publish ${stagingPath}: it is not in ${this.stagingDir}`);
    if (!target.startsWith(this.root + sep) || target.startsWith(this.stagingDir + sep)) {
      throw new Error(`cannot publish to ${finalPath}: it is not inside the warehouse ${this.root}`);
    }
    await fsyncPath(staged);
    await mkdir(dirname(target), { recursive: true });
    await rename(staged, target);
    await fsyncPath(dirname(target));
  }

  /** Removes everything left in staging (by a crash or a failed write); returns how many entries. */
  async clearStaging(): Promise<number> {
    let entries: string[];
    try {
      entries = await readdir(this.stagingDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    await Promise.all(entries.map((entry) => rm(join(this.stagingDir, entry), { recursive: true, force: true })));
    return entries.length;
  }

  /** Paths of the `.parquet` files under `<table dir>/data`, relative to the table dir, sorted. */
  async listDataFiles(namespace: string, table: string): Promise<string[]> {
    const tableDir = this.tableDir(namespace, table);
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let handle;
      try {
        handle = await opendir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for await (const entry of handle) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile() && entry.name.endsWith('.parquet')) files.push(relative(tableDir, path).split(sep).join('/'));
      }
    };
    await walk(join(tableDir, 'data'));
    return files.sort();
  }
}
