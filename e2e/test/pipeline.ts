import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { evmDatasets, type DatasetDef } from '@chainlake/schema';
import { connectPostgres } from '@chainlake/postgres';
import { freePort, spawnService, testNatsUrl, testPgUrl, type ServiceProcess } from '@chainlake/testkit';
import { onTestFailed } from 'vitest';
import { Type, type Table } from 'apache-arrow';

/**
 * Environment for a small mesh on loopback: ephemeral ports, its own prefix, PostgreSQL schema and folders.
 * No catalog unless `extra` names one (see catalogEnv): the archiver then writes Parquet and manifest.json only.
 */
export function meshEnv(prefix: string, dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CHAINLAKE_NATS_URL: testNatsUrl(),
    CHAINLAKE_PREFIX: prefix,
    CHAINLAKE_POSTGRES_URL: testPgUrl(),
    CHAINLAKE_POSTGRES_SCHEMA: prefix,
    CHAINLAKE_CATALOG_URL: 'none',
    CHAINLAKE_CHAIN: 'synthetic',
    CHAINLAKE_CHAIN_ID: '1337',
    CHAINLAKE_HTTP_PORT: '0',
    CHAINLAKE_FLIGHT_PORT: '0',
    CHAINLAKE_LOG_LEVEL: 'info',
    CHAINLAKE_WAREHOUSE: join(dir, 'warehouse'),
    CHAINLAKE_SYNTHETIC_SEED: '7',
    CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: '20',
    CHAINLAKE_SYNTHETIC_LOGS_PER_TX: '2',
    ...extra,
  };
}

/** The catalog URL for a mesh that runs one: a free loopback port the catalog will listen on. */
export async function catalogEnv(): Promise<Record<string, string>> {
  return { CHAINLAKE_CATALOG_URL: `http://127.0.0.1:${await freePort()}` };
}

/** The apps as processes; `only` adds variables for single apps. */
export function startMesh(
  env: Record<string, string>,
  dir: string,
  apps = ['source', 'transformer', 'archiver'],
  only: Record<string, Record<string, string>> = {},
): Record<string, ServiceProcess> {
  return Object.fromEntries(
    apps.map((app) => {
      const own: Record<string, string> = { CHAINLAKE_SPOOL_DIR: join(dir, 'spool', app) };
      if (app === 'catalog') own.CHAINLAKE_HTTP_PORT = new URL(env.CHAINLAKE_CATALOG_URL).port;
      return [app, spawnService(app, { ...env, ...own, ...only[app] })];
    }),
  );
}

/** The value of one series of a service's /metrics — `name` or `name{labels}`, exactly as exposed; 0 when absent. */
export async function metric(port: number | string, series: string): Promise<number> {
  return seriesValue(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), series);
}

/** The value of one series in a /metrics text; 0 when absent. */
export function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Drops the PostgreSQL schema a mesh used (catalog, hot tables). */
export async function dropMeshSchema(env: Record<string, string>): Promise<void> {
  const pool = await connectPostgres({ url: env.CHAINLAKE_POSTGRES_URL, schema: env.CHAINLAKE_POSTGRES_SCHEMA });
  await pool.query(`DROP SCHEMA IF EXISTS "${env.CHAINLAKE_POSTGRES_SCHEMA}" CASCADE`);
  await pool.end();
}

/** Call inside a test: if it fails, the tail of each service's log is printed with the failure. */
export function printLogsOnFailure(mesh: Record<string, ServiceProcess>): void {
  onTestFailed(() => {
    for (const p of Object.values(mesh)) {
      console.error(`--- last log lines of ${p.name} (pid ${p.child.pid}) ---\n${p.logs.slice(-40).map((l) => JSON.stringify(l)).join('\n')}`);
    }
  });
}

/** The generator's own rows for [from, to], decoded in-process: what the lake must hold. */
export function expectedTables(env: Record<string, string>, from: number, to: number): Record<string, Table> {
  const chain = new SyntheticChain(syntheticOptionsFromEnv(env));
  return decode(chain.rawSegment(from, to), Number(env.CHAINLAKE_CHAIN_ID)) as unknown as Record<string, Table>;
}

/** One line per row, columns joined by '|', nulls as \N, timestamps as epoch microseconds. */
function canonicalRows(table: Table, def: DatasetDef): string[] {
  const lines: string[] = new Array(table.numRows).fill('');
  def.columns.forEach((col, c) => {
    const vector = table.getChild(col.name)!;
    const isTimestamp = vector.type.typeId === Type.Timestamp;
    let row = 0;
    for (const data of vector.data) {
      for (let i = 0; i < data.length; i++, row++) {
        let text: string;
        if (!data.getValid(i)) text = '\\N';
        else if (isTimestamp) text = String((data.values as BigInt64Array)[i]); // a slice's value buffer already starts at its offset
        else text = String(vector.get(row));
        lines[row] += (c === 0 ? '' : '|') + text;
      }
    }
  });
  return lines;
}

export function expectedChecksums(tables: Record<string, Table>): Record<string, { rows: number; md5: string }> {
  return Object.fromEntries(evmDatasets.map((def) => {
    const lines = canonicalRows(tables[def.name], def);
    return [def.name, { rows: lines.length, md5: createHash('md5').update(lines.join('\n')).digest('hex') }];
  }));
}

function canonicalSql(def: DatasetDef): string {
  return def.columns
    .map((col) => (col.type === 'timestamp' ? `coalesce(cast(epoch_us("${col.name}") as varchar), '\\N')` : `coalesce(cast("${col.name}" as varchar), '\\N')`))
    .join(` || '|' || `);
}

/** Row counts and checksums of what DuckDB reads from the Parquet files, plus distinct keys. */
export async function lakeChecksums(warehouse: string, chain: string): Promise<Record<string, { rows: number; distinctKeys: number; md5: string }>> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const out: Record<string, { rows: number; distinctKeys: number; md5: string }> = {};
  try {
    for (const def of evmDatasets) {
      const files = join(warehouse, chain, def.name, 'data', '**', '*.parquet');
      const key = def.sortKey.map((k) => `"${k}"`).join(', ');
      const result = await conn.runAndReadAll(
        `SELECT count(*)::BIGINT AS n, count(DISTINCT (${key}))::BIGINT AS k,
                coalesce(md5(string_agg(${canonicalSql(def)}, chr(10) ORDER BY ${key})), '') AS h
         FROM read_parquet('${files}', hive_partitioning = true)`,
      );
      const [n, k, h] = result.getRows()[0];
      out[def.name] = { rows: Number(n), distinctKeys: Number(k), md5: String(h) };
    }
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return out;
}

/** Polls until DuckDB sees at least the expected row count in every table. */
export async function waitForRows(warehouse: string, chain: string, expected: Record<string, { rows: number }>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const seen = await lakeChecksums(warehouse, chain);
      last = JSON.stringify(Object.fromEntries(Object.entries(seen).map(([t, s]) => [t, s.rows])));
      if (evmDatasets.every((d) => seen[d.name].rows >= expected[d.name].rows)) return;
    } catch (err) {
      last = String(err);
    }
    await sleep(500);
  }
  throw new Error(`lake did not reach the expected rows within ${timeoutMs} ms; last seen ${last}`);
}
