// The end-to-end benchmark's reference, run by it as a process of its own with the services' Node
// flags: the blocks of the synthetic chain described by the environment (CHAINLAKE_SYNTHETIC_*,
// CHAINLAKE_CHAIN_ID) generated and decoded on the main thread in groups of about an archiver
// flush, each group's tables written as Parquet on the writer pool's two workers while the next
// one is generated. Prints {"seconds", "cpuSeconds"} as JSON.
import { join } from 'node:path';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { ParquetWriterPool } from '@chainlake/lake';
import { tempDir } from '@chainlake/testkit';

const BLOCKS = Number(process.env.CHAINLAKE_BENCH_BLOCKS ?? 20_000);
/** About the archiver's flush of 250,000 rows. */
const GROUP_BLOCKS = 1_000;

const options = syntheticOptionsFromEnv(process.env);
const chain = new SyntheticChain(options);
const out = await tempDir('bench-e2e-reference');
const pool = new ParquetWriterPool();
const cpuAtStart = process.cpuUsage();
const start = performance.now();
try {
  let writing: Promise<unknown> = Promise.resolve();
  for (let from = 0; from < BLOCKS; from += GROUP_BLOCKS) {
    const typed = decode(chain.rawSegment(from, Math.min(BLOCKS, from + GROUP_BLOCKS) - 1), options.chainId);
    await writing;
    writing = Promise.all(
      Object.entries(typed).map(([table, data]) => pool.write(join(out.path, `${table}_${from}.parquet`), data.schema, data.batches)),
    );
  }
  await writing;
  const cpu = process.cpuUsage(cpuAtStart);
  console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
} finally {
  await pool.close();
  await out.remove();
}
