import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export type LogLine = Record<string, unknown> & { msg?: string };

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  /** Resolves with the first log line the predicate accepts (including lines already seen). */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  httpPort(): Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Node flags per app when CHAINLAKE_NODE_FLAGS is not set, as tools/mesh.mjs and the Dockerfile use them (docs/architecture.md, "Garbage collection"). */
const defaultNodeFlags = JSON.parse(readFileSync(join(repoRoot, 'tools', 'node-flags.json'), 'utf8')) as Record<string, string>;

/** The Node flags an app runs with: CHAINLAKE_NODE_FLAGS when set, else its entry in tools/node-flags.json. */
export function nodeFlags(app: string): string[] {
  return (process.env.CHAINLAKE_NODE_FLAGS ?? defaultNodeFlags[app] ?? '').split(/\s+/).filter(Boolean);
}

/** Runs one app from its TypeScript sources as a real process, the way the local mesh does. */
export function spawnService(app: string, env: Record<string, string>, label = app): ServiceProcess {
  // CHAINLAKE_CPU_PROFILE_DIR=<dir> writes a V8 CPU profile of every spawned service on exit.
  const profile = process.env.CHAINLAKE_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CHAINLAKE_CPU_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...nodeFlags(app), ...profile, '--import', 'tsx', join(repoRoot, 'apps', app, 'src', 'main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const watchers = new Set<(line: LogLine) => void>();
  const onLine = (text: string): void => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text, raw: true };
    }
    logs.push(line);
    for (const w of watchers) w(line);
    if (process.env.CHAINLAKE_TEST_LOGS) process.stderr.write(`[${label}] ${text}\n`);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> => {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(watch);
        const tail = logs.slice(-20).map((l) => JSON.stringify(l)).join('\n');
        reject(new Error(`${label}: no matching log line within ${timeoutMs} ms; last lines:\n${tail}`));
      }, timeoutMs);
      const watch = (line: LogLine): void => {
        if (!predicate(line)) return;
        clearTimeout(timer);
        watchers.delete(watch);
        resolve(line);
      };
      watchers.add(watch);
    });
  };

  return {
    name: label,
    child,
    logs,
    waitForLog,
    httpPort: async () => Number((await waitForLog((l) => l.msg === 'http listening')).port),
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
