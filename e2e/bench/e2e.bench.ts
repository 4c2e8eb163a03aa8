// End-to-end throughput: source → transformer → archiver → Parquet on loopback, as separate
// processes against the real NATS. Prints blocks/s and transaction rows/s from the source's start
// to the moment every row is recorded in the manifests, and when the first rows got there. The
// run is long enough (20,000 blocks, ~30 s) that filling and draining the pipeline (the first
// segment, the archiver's last flush interval) is a small part of it.
//
// The reference, measured in the same run: the same blocks generated, decoded and written as
// Parquet in one process (in-process-reference.ts), without services, Flight, NATS or manifests.
// Its rate and CPU move with the machine as the mesh's do, so the ratios say what running the
// work as services costs.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { LocalWarehouse, ManifestStore } from '@chainlake/lake';
import { connectBus, deleteStreams } from '@chainlake/bus';
import { nodeFlags, repoRoot, tempDir, testNatsUrl, uniquePrefix } from '@chainlake/testkit';
import { meshEnv, startMesh } from '../test/pipeline.js';

const run = promisify(execFile);
const BLOCKS = Number(process.env.CHAINLAKE_BENCH_BLOCKS ?? 20_000);
const TXS_PER_BLOCK = Number(process.env.CHAINLAKE_BENCH_TXS_PER_BLOCK ?? 100);

const dir = await tempDir('bench-e2e');
const prefix = uniquePrefix('bench');
const env = meshEnv(prefix, dir.path, {
  CHAINLAKE_BACKFILL_FROM: '0',
  CHAINLAKE_BACKFILL_TO: String(BLOCKS - 1),
  CHAINLAKE_SYNTHETIC_TXS_PER_BLOCK: String(TXS_PER_BLOCK),
  CHAINLAKE_ARCHIVER_FLUSH_INTERVAL_MS: '1000',
});
const chain = new SyntheticChain(syntheticOptionsFromEnv(env));
const expected = { blocks: 0, transactions: 0, logs: 0 };
for (let from = 0; from < BLOCKS; from += 1000) {
  const raw = chain.rawSegment(from, Math.min(BLOCKS, from + 1000) - 1);
  expected.blocks += raw.raw_blocks.numRows;
  expected.transactions += raw.raw_transactions.numRows;
  expected.logs += raw.raw_logs.numRows;
}
const totalRows = expected.blocks + expected.transactions + expected.logs;

/** The in-process reference (in-process-reference.ts), run with the services' Node flags. */
async function inProcessReference(): Promise<{ seconds: number; cpuSeconds: number }> {
  const script = join(repoRoot, 'e2e', 'bench', 'in-process-reference.ts');
  const { stdout } = await run(process.execPath, [...nodeFlags('archiver'), '--import', 'tsx', script], {
    cwd: repoRoot,
    env: { ...process.env, ...env, CHAINLAKE_BENCH_BLOCKS: String(BLOCKS) },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { seconds: number; cpuSeconds: number };
}

/** User and system CPU seconds and minor page faults a process has had so far (Linux /proc). */
function cpuUse(pid: number): { user: number; system: number; faults: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100, faults: Number(fields[7]) };
}

const manifests = new ManifestStore(new LocalWarehouse(join(dir.path, 'warehouse')));
// Consumers first, so that the clock measures the pipeline rather than process start-up.
const mesh = startMesh(env, dir.path, ['transformer', 'archiver']);
let started = 0;
let meshSeconds = 0;
let meshCpuSeconds = 0;
try {
  await Promise.all(Object.values(mesh).map((p) => p.httpPort()));
  Object.assign(mesh, startMesh(env, dir.path, ['source']));
  await mesh.source.waitForLog((l) => l.msg === 'source starting', 60_000);
  started = performance.now();
  const cpuAtStart = new Map(Object.entries(mesh).map(([app, p]) => [app, cpuUse(p.child.pid!)]));
  let firstRows = 0;
  let tenth = 0;
  let ninetieth = 0;
  for (;;) {
    const rows = await Promise.all(
      Object.keys(expected).map(async (t) => (await manifests.read('synthetic', t)).files.reduce((s, f) => s + f.rows, 0)),
    );
    const recorded = rows.reduce((a, b) => a + b, 0);
    const elapsed = (performance.now() - started) / 1000;
    if (recorded > 0 && firstRows === 0) firstRows = elapsed;
    if (recorded >= totalRows / 10 && tenth === 0) tenth = elapsed;
    if (recorded >= (totalRows * 9) / 10 && ninetieth === 0) ninetieth = elapsed;
    if (recorded >= totalRows) break;
    if (performance.now() - started > 300_000) throw new Error(`end to end did not finish in 300 s (${rows.join('/')} of ${totalRows} rows)`);
    await sleep(50);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = Object.entries(mesh)
    .map(([app, p]) => {
      const [now, start] = [cpuUse(p.child.pid!), cpuAtStart.get(app) ?? { user: 0, system: 0, faults: 0 }];
      const [user, system] = [now.user - start.user, now.system - start.system];
      meshCpuSeconds += user + system;
      return `${app} ${(user + system).toFixed(1)} s (system ${system.toFixed(1)} s, ${((now.faults - start.faults) / 1000).toFixed(0)}k page faults)`;
    })
    .join(', ');
  console.log(
    `end to end (source → transformer → archiver → parquet): ${(BLOCKS / seconds).toFixed(0)} blocks/s, ` +
      `${(expected.transactions / seconds / 1000).toFixed(1)}k transaction rows/s, ${(totalRows / seconds / 1000).toFixed(1)}k rows/s all tables ` +
      `(${BLOCKS} blocks, ${expected.transactions} transactions, ${expected.logs} logs in ${seconds.toFixed(2)} s; target ≥ 100k transaction rows/s)`,
  );
  console.log(`end to end CPU time: ${cpu} (2 cores: ${(2 * seconds).toFixed(1)} s available); first rows in Parquet after ${firstRows.toFixed(1)} s`);
  console.log(
    `sustained, from 10% to 90% of the rows in Parquet (${tenth.toFixed(1)} s → ${ninetieth.toFixed(1)} s): ` +
      `${((expected.transactions * 0.8) / (ninetieth - tenth) / 1000).toFixed(1)}k transaction rows/s`,
  );
  meshSeconds = seconds;
} finally {
  await Promise.all(Object.values(mesh).map((p) => p.stop()));
  const bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'bench-cleanup' });
  await deleteStreams(bus);
  await bus.drain();
  await dir.remove();
}

const reference = await inProcessReference();
const referenceRate = expected.transactions / reference.seconds;
console.log(
  `reference, the same blocks generated and decoded on one thread and written as Parquet on two workers, in one process ` +
    `(no services): ${(referenceRate / 1000).toFixed(1)}k transaction rows/s, ${reference.cpuSeconds.toFixed(1)} CPU s; ` +
    `the mesh: ${(expected.transactions / meshSeconds / referenceRate).toFixed(2)}× its rate at ${(meshCpuSeconds / reference.cpuSeconds).toFixed(2)}× its CPU`,
);
