import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LocalFileIO, type FileIO, type TableMetadata } from '@chainlake/iceberg';
import { badRequest, metadataMissing } from './errors.js';

/**
 * The catalog's view of the warehouse directory: table locations are `file://` URIs inside it, and no
 * location outside it is ever read, written or deleted.
 */
export class CatalogWarehouse {
  /** Absolute path. */
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root.startsWith('file:') ? fileURLToPath(root) : root);
  }

  /** The default location of a table: `file://<warehouse>/<namespace>/<table>`. Names are checked by the caller. */
  defaultLocation(namespace: string, table: string): string {
    return pathToFileURL(join(this.root, namespace, table)).href;
  }

  /**
   * A location as the catalog stores it (a `file://` URI without trailing slash), from a `file://` URI or an
   * absolute path; refused unless it lies strictly inside the warehouse.
   */
  normalizeLocation(location: string): string {
    return pathToFileURL(this.pathOf(location)).href;
  }

  /** The file system path of a location or file inside the warehouse. */
  pathOf(location: string): string {
    let path: string;
    if (location.startsWith('file:')) {
      try {
        path = fileURLToPath(location);
      } catch (err) {
        throw badRequest(`invalid location ${JSON.stringify(location)}: ${(err as Error).message}`);
      }
    } else if (isAbsolute(location)) {
      path = location;
    } else {
      throw badRequest(`invalid location ${JSON.stringify(location)}: expected a file:// URI inside the warehouse ${pathToFileURL(this.root).href}`);
    }
    if (path.includes('\0')) throw badRequest(`invalid location ${JSON.stringify(location)}: contains NUL`);
    const resolved = resolve(path);
    const inside = relative(this.root, resolved);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw badRequest(`location ${JSON.stringify(location)} is outside the warehouse ${pathToFileURL(this.root).href}`);
    }
    return resolved;
  }

  metadataDir(location: string): string {
    return join(this.pathOf(location), 'metadata');
  }

  /** The table's metadata directory, created if missing. */
  async createMetadataDir(location: string): Promise<string> {
    const dir = this.metadataDir(location);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** True when the location already holds Iceberg metadata (a dropped table's, or a crashed create's). */
  async hasMetadata(location: string): Promise<boolean> {
    try {
      return (await readdir(this.metadataDir(location))).some((name) => name.endsWith('.metadata.json'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Iceberg file access (manifest lists, manifests) confined to the warehouse: any other location is a 400. */
  fileIO(): FileIO {
    const local = new LocalFileIO();
    const inside = (location: string): string => {
      this.pathOf(location);
      return location;
    };
    return {
      read: (location) => local.read(inside(location)),
      write: (location, data) => local.write(inside(location), data),
      exists: (location) => local.exists(inside(location)),
      delete: (location) => local.delete(inside(location)),
      list: (prefix) => local.list(inside(prefix)),
    };
  }

  async readMetadata(metadataLocation: string): Promise<TableMetadata> {
    try {
      return JSON.parse(await readFile(this.pathOf(metadataLocation), 'utf8')) as TableMetadata;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw metadataMissing(metadataLocation);
      throw err;
    }
  }

  /** Deletes everything under a table's location (data and metadata). */
  async purge(location: string): Promise<void> {
    await rm(this.pathOf(location), { recursive: true, force: true });
  }
}
