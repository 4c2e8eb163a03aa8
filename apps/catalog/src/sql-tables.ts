import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeParquet } from '@chainlake/lake';
import type { LakeTable, LakeTableProvider } from '@chainlake/sql';
import type { LakeTables } from './lake-tables.js';

/** `<table>_live` in SQL: the table's current files plus its hot tip. */
export const LIVE_SUFFIX = '_live';

/** Tip files kept per table: the newest, and the one before it for queries still reading it. */
const TIPS_KEPT = 2;

/**
 * The tables the SQL engine sees: every lake table, and for each chain dataset also `<table>_live`, whose files are
 * the current snapshot's plus one Parquet file of the hot tip — the hot rows of blocks no file holds, from a hot
 * snapshot taken before the table's metadata is read (as `include_hot` scans do), written under `tipDir`.
 */
export class SqlTables implements LakeTableProvider {
  constructor(
    private readonly tables: LakeTables,
    private readonly tipDir: string,
  ) {}

  async listTables(): Promise<LakeTable[]> {
    const tables = await this.tables.listWithSchemas();
    return tables.flatMap((t) => (t.hasHotTier ? [t, { ...t, name: `${t.name}${LIVE_SUFFIX}` }] : [t]));
  }

  async currentFiles(namespace: string, name: string): Promise<string[]> {
    if (!name.endsWith(LIVE_SUFFIX)) return this.tables.currentFilePaths(namespace, name);
    const table = name.slice(0, -LIVE_SUFFIX.length);
    const resolved = await this.tables.resolve(namespace, table, undefined, true);
    if (!resolved) return [];
    try {
      const paths: string[] = [];
      for await (const file of resolved.files) paths.push(file.path.startsWith('file:') ? fileURLToPath(file.path) : file.path);
      const dir = join(this.tipDir, namespace, table);
      const tip = join(dir, `tip-${Date.now()}-${randomUUID()}.parquet`);
      const written = await writeParquet(tip, resolved.schema, resolved.extraBatches ?? []);
      if (written.rows > 0) paths.push(tip);
      else await rm(tip, { force: true });
      await this.dropOldTips(dir);
      return paths;
    } finally {
      await resolved.close?.();
    }
  }

  private async dropOldTips(dir: string): Promise<void> {
    const tips = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith('tip-')).sort();
    await Promise.all(tips.slice(0, -TIPS_KEPT).map((f) => rm(join(dir, f), { force: true })));
  }
}
