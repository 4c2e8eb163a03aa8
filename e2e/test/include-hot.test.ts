import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, deleteStreams } from '@chainlake/bus';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { FlightClient } from '@chainlake/flight';
import { createFlightSqlClient } from '@lakehouse-rs/flight-sql-client';
import { tableFromIPC } from 'apache-arrow';
import { freePort, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import { catalogEnv, dropMeshSchema, expectedTables, meshEnv, metric, printLogsOnFailure, startMesh } from './pipeline.js';

const BLOCK_MS = 200;
// Deep enough (12 s of blocks) that the tip of [FIRST, LAST] is still unfinalized, so hot only,
// when the mesh has caught up, even on a loaded machine; 15 blocks (3 s) was not always.
const FINALITY_DEPTH = 60;
const START_HEAD = 1000;
const FIRST = START_HEAD - 40;
const LAST = START_HEAD + 40;


describe('include_hot: cold files plus the hot tip as one result', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  let mesh: Record<string, ServiceProcess>;
  let flight: FlightClient;
  let flightPort: number;

  beforeAll(async () => {
    dir = await tempDir('include-hot');
    flightPort = await freePort();
    env = meshEnv(uniquePrefix('inchot'), dir.path, {
      ...(await catalogEnv()),
      CHAINLAKE_SYNTHETIC_BLOCK_TIME_MS: String(BLOCK_MS),
      CHAINLAKE_SYNTHETIC_GENESIS_MS: String(Date.now() - START_HEAD * BLOCK_MS),
      CHAINLAKE_SYNTHETIC_FINALITY_DEPTH: String(FINALITY_DEPTH),
      CHAINLAKE_BACKFILL_FROM: String(FIRST),
      CHAINLAKE_BACKFILL_TO: String(LAST),
      CHAINLAKE_SEGMENT_BLOCKS: '10',
      CHAINLAKE_SEGMENT_INTERVAL_MS: '200',
      CHAINLAKE_POLL_INTERVAL_MS: '50',
      CHAINLAKE_ARCHIVER_FLUSH_INTERVAL_MS: '200',
      CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS: '5',
      CHAINLAKE_COMPACTOR_CHUNK_SIZE: '200',
      CHAINLAKE_SQL_MAX_STALENESS_MS: '0',
    });
    mesh = startMesh(env, dir.path, ['catalog', 'source', 'transformer', 'archiver', 'compactor'], { catalog: { CHAINLAKE_FLIGHT_PORT: String(flightPort) } });
    flight = new FlightClient(`grpc://127.0.0.1:${flightPort}`);
  });

  afterAll(async () => {
    flight?.close();
    await Promise.all(Object.values(mesh).map((p) => p.stop()));
    const bus = await connectBus({ servers: testNatsUrl(), prefix: env.CHAINLAKE_PREFIX, name: 'e2e-cleanup' });
    await deleteStreams(bus);
    await bus.drain();
    await dropMeshSchema(env);
    await dir.remove();
  });

  async function keys(ticket: object): Promise<string[]> {
    const table = await flight.doGetTable(JSON.stringify(ticket));
    const blocks = table.getChild('block_number')!;
    const indexes = table.getChild('transaction_index')!;
    return Array.from({ length: table.numRows }, (_, i) => `${blocks.get(i)}:${indexes.get(i)}`);
  }

  it('returns every canonical row exactly once, in scans and in SQL over <table>_live, whatever the compactor moves from hot to cold meanwhile', async () => {
    printLogsOnFailure(mesh);
    const chain = new SyntheticChain(syntheticOptionsFromEnv(env));
    while (chain.head() <= LAST) await sleep(BLOCK_MS);
    const generated = expectedTables(env, FIRST, LAST).transactions;
    const want = Array.from({ length: generated.numRows }, (_, i) => `${generated.getChild('block_number')!.get(i)}:${generated.getChild('transaction_index')!.get(i)}`).sort();
    const ticket = { table: 'synthetic.transactions', columns: ['block_number', 'transaction_index'], where: { block_number: { between: [FIRST, LAST] } }, include_hot: true };

    // Until the archiver has every block in one tier or the other.
    const deadline = Date.now() + 60_000;
    let got: string[] = [];
    while (Date.now() < deadline) {
      got = await keys(ticket).catch(() => []);
      if (got.length >= want.length) break;
      await sleep(300);
    }
    expect(got.sort()).toEqual(want);
    // The unfinalized tip is hot only: without include_hot (or `_live` in SQL) it is missing.
    const sql = await createFlightSqlClient({ host: '127.0.0.1', port: flightPort, tls: false, headers: [] });
    const count = async (table: string) =>
      Number(tableFromIPC(await sql.query(`SELECT count(*) AS n FROM synthetic.${table} WHERE block_number BETWEEN ${FIRST} AND ${LAST}`)).get(0)!.n);
    expect((await keys({ ...ticket, include_hot: false })).length).toBeLessThan(want.length);
    expect(await count('transactions')).toBeLessThan(want.length);
    expect(await count('transactions_live')).toBe(want.length);

    // Scans while the compactor moves finalized hot blocks to cold: each one whole, none with a row twice.
    const compactorPort = await mesh.compactor.httpPort();
    const live = `SELECT block_number, transaction_index FROM synthetic.transactions_live WHERE block_number BETWEEN ${FIRST} AND ${LAST}`;
    for (let scan = 0; scan < 12; scan++) {
      expect((await keys(ticket)).sort(), `scan ${scan}`).toEqual(want);
      const rows = tableFromIPC(await sql.query(live)).toArray().map((r) => `${r.block_number}:${r.transaction_index}`);
      expect(rows.sort(), `SQL query ${scan}`).toEqual(want);
      await sleep(250);
    }
    expect(await metric(compactorPort, 'chainlake_compactor_jobs_total{job="hot-to-cold",result="ok"}')).toBeGreaterThan(0);

    await expect(keys({ ...ticket, include_hot: 'yes' })).rejects.toThrow(/"include_hot" must be true or false/);
    await expect(keys({ ...ticket, snapshot_id: 1 })).rejects.toThrow(/cannot be combined with "snapshot_id"/);
  }, 120_000);
});
