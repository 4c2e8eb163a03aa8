import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { DDSKETCH_RELATIVE_ACCURACY, HLL_STANDARD_ERROR, parseDefinition, resultName, type Definition } from '@chainlake/aggregation';
import { connectBus, deleteStreams, WindowResultMessage, type MessageOf } from '@chainlake/bus';
import { tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import { expectedChecksums, expectedTables, meshEnv, printLogsOnFailure, startMesh, waitForRows } from './pipeline.js';

/**
 * Must-show 1 of the analytics issue, checked independently of the engine's own brute force: the
 * mesh (source → transformer → archiver + analytics) backfills 15 minutes of the synthetic chain,
 * then DuckDB recomputes every closed window from the archiver's Parquet files and each published
 * result must equal it — exactly for exact aggregates, within the documented error for the sketches.
 */
const BLOCKS = 900;
const SEGMENT_BLOCKS = 50;

const definitions = [
  {
    name: 'tumbling_by_type',
    dataset: 'transactions',
    window: { kind: 'tumbling', sizeMs: 60_000 },
    groupBy: ['transaction_type'],
    aggregates: [
      { fn: 'count' },
      { fn: 'sum', column: 'value' },
      { fn: 'sum', column: 'gas_used' },
      { fn: 'avg', column: 'gas_used' },
      { fn: 'min', column: 'gas_price' },
      { fn: 'max', column: 'gas_used' },
      { fn: 'max', column: 'block_timestamp' },
      { fn: 'distinct_count', column: 'from_address', as: 'senders' },
      { fn: 'distinct_count', column: 'to_address', as: 'receivers', exact: true },
      { fn: 'percentile', column: 'gas_used', p: 50 },
      { fn: 'percentile', column: 'gas_price', p: 90, exact: true },
      { fn: 'stddev', column: 'gas_used' },
    ],
  },
  {
    name: 'sliding_filtered',
    dataset: 'transactions',
    window: { kind: 'sliding', sizeMs: 120_000, slideMs: 30_000 },
    filter: { and: [{ column: 'success', op: 'eq', value: 'true' }, { or: [{ column: 'transaction_type', op: 'in', values: [0, 1] }, { column: 'value', op: 'gt', value: '1000000000000000000' }] }] },
    aggregates: [
      { fn: 'count' },
      { fn: 'sum', column: 'value' },
      { fn: 'min', column: 'value' },
      { fn: 'avg', column: 'gas_price' },
      { fn: 'stddev', column: 'gas_price' },
      { fn: 'percentile', column: 'max_priority_fee_per_gas', p: 99 },
    ],
  },
  {
    name: 'top_senders',
    dataset: 'transactions',
    window: { kind: 'tumbling', sizeMs: 120_000 },
    filter: { column: 'gas_used', op: 'between', low: 21_000, high: 200_000 },
    groupBy: ['from_address'],
    aggregates: [{ fn: 'sum', column: 'value', as: 'volume' }, { fn: 'count', as: 'txs' }],
    topK: { k: 5, by: 'volume' },
  },
  {
    name: 'contract_sessions',
    dataset: 'logs',
    window: { kind: 'session', gapMs: 20_000 },
    filter: { column: 'transaction_index', op: 'lt', value: 10 },
    groupBy: ['address'],
    aggregates: [
      { fn: 'count' },
      { fn: 'distinct_count', column: 'topic0', as: 'events' },
      { fn: 'max', column: 'log_index' },
      { fn: 'min', column: 'block_number' },
    ],
  },
].map((d) => parseDefinition(d));

/** DuckDB SQL per definition: one row per window and group, columns ws, we (epoch ms), the group columns, rows, then each result. */
function expectedSql(def: Definition, files: (dataset: string) => string): string {
  const source = `(SELECT *, epoch_ms(block_timestamp) AS ms FROM read_parquet('${files(def.dataset)}', hive_partitioning = true))`;
  const values = (dictionary: Record<string, string>) =>
    def.aggregates.map((a) => `${dictionary[resultName(a)]} AS "${resultName(a)}"`).join(',\n');
  const sorted = (x: string, p: number) => `list_sort(list(${x}) FILTER (WHERE ${x} IS NOT NULL))[floor(${p} * (count(${x}) - 1))::BIGINT + 1]`;
  switch (def.name) {
    case 'tumbling_by_type':
      return `SELECT (ms // 60000) * 60000 AS ws, (ms // 60000) * 60000 + 60000 AS we, transaction_type, count(*) AS rows,
        ${values({
          count: 'count(*)',
          sum_value: 'sum(CAST(value AS HUGEINT))::VARCHAR',
          sum_gas_used: 'sum(gas_used)',
          avg_gas_used: 'avg(gas_used)',
          min_gas_price: 'min(CAST(gas_price AS HUGEINT))::VARCHAR',
          max_gas_used: 'max(gas_used)',
          max_block_timestamp: 'epoch_ms(max(block_timestamp))',
          senders: 'count(DISTINCT from_address)',
          receivers: 'count(DISTINCT to_address)',
          p50_gas_used: sorted('gas_used::DOUBLE', 0.5),
          p90_gas_price: sorted('CAST(gas_price AS DOUBLE)', 0.9),
          stddev_gas_used: 'stddev_pop(gas_used)',
        })}
        FROM ${source} GROUP BY ALL`;
    case 'sliding_filtered':
      return `SELECT ws, ws + 120000 AS we, count(*) AS rows,
        ${values({
          count: 'count(*)',
          sum_value: 'sum(CAST(value AS HUGEINT))::VARCHAR',
          min_value: 'min(CAST(value AS HUGEINT))::VARCHAR',
          avg_gas_price: 'avg(CAST(gas_price AS HUGEINT))',
          stddev_gas_price: 'stddev_pop(CAST(gas_price AS DOUBLE))',
          p99_max_priority_fee_per_gas: sorted('CAST(max_priority_fee_per_gas AS DOUBLE)', 0.99),
        })}
        FROM (SELECT *, unnest(range((ms // 30000) * 30000 - 90000, (ms // 30000) * 30000 + 1, 30000)) AS ws FROM ${source}
              WHERE success AND (transaction_type IN (0, 1) OR CAST(value AS HUGEINT) > 1000000000000000000))
        GROUP BY ws`;
    case 'top_senders':
      return `SELECT ws, we, from_address, rows, volume, txs FROM (
          SELECT *, row_number() OVER (PARTITION BY ws ORDER BY CAST(volume AS HUGEINT) DESC, from_address) AS rank FROM (
            SELECT (ms // 120000) * 120000 AS ws, (ms // 120000) * 120000 + 120000 AS we, from_address, count(*) AS rows,
              ${values({ volume: 'sum(CAST(value AS HUGEINT))::VARCHAR', txs: 'count(*)' })}
            FROM ${source} WHERE gas_used BETWEEN 21000 AND 200000 GROUP BY ALL))
        WHERE rank <= 5`;
    case 'contract_sessions':
      // A row starts a new session of its group when it is at least the gap after the one before.
      return `SELECT min(ms) AS ws, max(ms) + 20000 AS we, address, count(*) AS rows,
        ${values({ count: 'count(*)', events: 'count(DISTINCT topic0)', max_log_index: 'max(log_index)', min_block_number: 'min(block_number)' })}
        FROM (SELECT *, sum(new_session) OVER (PARTITION BY address ORDER BY ms ROWS UNBOUNDED PRECEDING) AS session FROM (
          SELECT *, CASE WHEN ms - lag(ms) OVER (PARTITION BY address ORDER BY ms) < 20000 THEN 0 ELSE 1 END AS new_session
          FROM ${source} WHERE transaction_index < 10))
        GROUP BY address, session`;
    default:
      throw new Error(`no SQL for ${def.name}`);
  }
}

type Result = MessageOf<typeof WindowResultMessage>;
const keyOf = (windowStartMs: number, group: Record<string, unknown>) => `${windowStartMs}|${JSON.stringify(group)}`;

describe('analytics results against DuckDB over the Parquet files', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let prefix: string;
  let procs: ServiceProcess[] = [];

  beforeEach(async () => {
    dir = await tempDir('e2e-analytics');
    prefix = uniquePrefix('e2ean');
    procs = [];
  });

  afterEach(async () => {
    await Promise.all(procs.map((p) => { p.kill('SIGKILL'); return p.exited; }));
    const bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'e2e-cleanup' });
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  it('equal DuckDB SQL for every aggregate and window kind, exactly or within the sketch error bounds', async () => {
    const file = join(dir.path, 'definitions.json');
    await writeFile(file, JSON.stringify(definitions));
    const env = meshEnv(prefix, dir.path, {
      CHAINLAKE_BACKFILL_FROM: '0',
      CHAINLAKE_BACKFILL_TO: String(BLOCKS - 1),
      CHAINLAKE_SEGMENT_BLOCKS: String(SEGMENT_BLOCKS),
      CHAINLAKE_ARCHIVER_FLUSH_INTERVAL_MS: '500',
      CHAINLAKE_ANALYTICS_DEFINITIONS: file,
      CHAINLAKE_ANALYTICS_CHECKPOINT_INTERVAL_MS: '500',
    });
    const mesh = startMesh(env, dir.path, ['source', 'transformer', 'archiver', 'analytics']);
    printLogsOnFailure(mesh);
    procs.push(...Object.values(mesh));

    const expected = expectedChecksums(expectedTables(env, 0, BLOCKS - 1));
    await waitForRows(env.CHAINLAKE_WAREHOUSE, 'synthetic', expected, 60_000);
    const metrics = `http://127.0.0.1:${await mesh.analytics.httpPort()}/metrics`;
    const aggregated = async () => Number(/^chainlake_analytics_segments_aggregated_total (\d+)/m.exec(await (await fetch(metrics)).text())?.[1] ?? 0);
    const deadline = Date.now() + 60_000;
    while ((await aggregated()) < BLOCKS / SEGMENT_BLOCKS && Date.now() < deadline) await sleep(200);
    expect(await aggregated()).toBe(BLOCKS / SEGMENT_BLOCKS);

    // Every result, replayed from the ANALYTICS stream: the latest revision of each window and group.
    const bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'e2e-analytics' });
    const published = new Map<string, Map<string, Result>>(definitions.map((d) => [d.name, new Map()]));
    const stored = (await bus.jsm.streams.info(bus.streams.analytics)).state.messages;
    const replay = await (await bus.js.consumers.get(bus.streams.analytics)).consume();
    let replayed = 0;
    for await (const m of replay) {
      const r = WindowResultMessage.decode(m.data);
      const byKey = published.get(r.definition)!;
      const key = keyOf(Date.parse(r.windowStart), r.group);
      if ((byKey.get(key)?.revision ?? 0) < r.revision) byKey.set(key, r);
      if (++replayed === stored) break;
    }
    await replay.close();
    await bus.drain();

    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const files = (dataset: string) => join(env.CHAINLAKE_WAREHOUSE, 'synthetic', dataset, 'data', '**', '*.parquet');
      const watermarks: Record<string, number> = {};
      for (const dataset of ['transactions', 'logs']) {
        const rows = (await conn.runAndReadAll(`SELECT epoch_ms(max(block_timestamp)) AS w FROM read_parquet('${files(dataset)}', hive_partitioning = true)`)).getRowObjectsJS();
        watermarks[dataset] = Number(rows[0].w);
      }
      for (const def of definitions) {
        const groupBy = def.groupBy ?? [];
        const want = new Map<string, Record<string, unknown>>();
        for (const row of (await conn.runAndReadAll(expectedSql(def, files))).getRowObjectsJS()) {
          // A window fires once the watermark (the dataset's highest event time) reaches its end.
          if (Number(row.we) > watermarks[def.dataset]) continue;
          want.set(keyOf(Number(row.ws), Object.fromEntries(groupBy.map((g) => [g, row[g]]))), row);
        }
        const got = published.get(def.name)!;
        expect(want.size, def.name).toBeGreaterThan(def.window.kind === 'session' ? 100 : 5);
        expect([...got.keys()].sort(), def.name).toEqual([...want.keys()].sort());
        for (const [key, row] of want) {
          const r = got.get(key)!;
          const label = `${def.name} ${key}`;
          expect([Date.parse(r.windowEnd), r.rows], label).toEqual([Number(row.we), Number(row.rows)]);
          for (const a of def.aggregates) {
            const name = resultName(a);
            const value = r.values[name];
            const exact = row[name];
            if (a.fn === 'distinct_count' && !a.exact) {
              // HyperLogLog: standard error 0.81%; allowed 4 standard errors. Small counts are
              // estimated by linear counting, whose error is a handful of register collisions (a
              // Poisson count, ~0.5% chance of 2 at 60 values): over hundreds of windows an error
              // of 2-3 happens, so up to 4 is allowed whatever the count.
              expect(Math.abs(Number(value) - Number(exact)), `${label} ${name}`).toBeLessThanOrEqual(Math.max(4, 4 * HLL_STANDARD_ERROR * Number(exact)));
            } else if (a.fn === 'percentile' && !a.exact) {
              // DDSketch: within 1% of the exact value at the same rank.
              expect(Math.abs(Number(value) - Number(exact)), `${label} ${name}`).toBeLessThanOrEqual(DDSKETCH_RELATIVE_ACCURACY * Math.abs(Number(exact)));
            } else if (a.fn === 'avg' || a.fn === 'stddev') {
              expect(Math.abs(Number(value) - Number(exact)), `${label} ${name}`).toBeLessThanOrEqual(1e-9 * Math.abs(Number(exact)));
            } else if (a.fn === 'max' && a.column === 'block_timestamp') {
              expect(value, `${label} ${name}`).toBe(new Date(Number(exact)).toISOString());
            } else if (typeof value === 'string') {
              expect(value, `${label} ${name}`).toBe(String(exact));
            } else {
              expect(value, `${label} ${name}`).toBe(Number(exact));
            }
          }
        }
      }
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  }, 90_000);
});
