// Runs the six services as local processes from their TypeScript sources, each on its default
// ports, with their JSON logs prefixed by the service name. SIGINT/SIGTERM stops them in
// reverse order and waits for each to drain.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const apps = ['catalog', 'compactor', 'analytics', 'archiver', 'transformer', 'source'];
const only = process.argv.slice(2);
const selected = only.length > 0 ? apps.filter((a) => only.includes(a)) : apps;
const children = new Map();
// Node flags: CHAINLAKE_NODE_FLAGS when set, else the app's entry in node-flags.json (as in the
// Dockerfile and the tests' launcher; docs/architecture.md, "Garbage collection").
const defaultNodeFlags = JSON.parse(readFileSync(new URL('node-flags.json', import.meta.url), 'utf8'));
const nodeFlags = (app) => (process.env.CHAINLAKE_NODE_FLAGS ?? defaultNodeFlags[app] ?? '').split(/\s+/).filter(Boolean);

for (const app of selected) {
  const child = spawn(process.execPath, [...nodeFlags(app), '--import', 'tsx', `apps/${app}/src/main.ts`], {
    env: {
      CHAINLAKE_ANALYTICS_DEFINITIONS: 'apps/analytics/definitions/examples.yaml',
      // The synthetic chain makes a block a second: move finalized blocks to Parquet every ~100 s, not every ~17 min.
      CHAINLAKE_COMPACTOR_THRESHOLD_BLOCKS: '100',
      ...process.env,
      CHAINLAKE_SPOOL_DIR: process.env.CHAINLAKE_SPOOL_DIR ?? `./data/spool/${app}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a Ctrl-C reaches the mesh only, which then stops the services in order.
    detached: true,
  });
  children.set(app, child);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${app.padEnd(11)} | ${line}\n`));
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(`${app.padEnd(11)} | exited (${signal ?? code})\n`);
    children.delete(app);
    if (children.size === 0) process.exit(0);
  });
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  for (const app of [...selected].reverse()) {
    const child = children.get(app);
    if (!child) continue;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
