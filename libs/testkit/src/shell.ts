import { spawnService } from './process.js';
import { testNatsUrl, uniquePrefix } from './env.js';

export interface ShellProbe {
  healthz: number;
  readyz: { status: number; body: unknown };
  metrics: string;
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

/**
 * Starts an app on an ephemeral port with its own prefix, waits until it is ready, reads its
 * /healthz, /readyz and /metrics, then stops it with SIGTERM.
 */
export async function probeServiceShell(app: string, env: Record<string, string> = {}, readyTimeoutMs = 30_000): Promise<ShellProbe> {
  const service = spawnService(app, { CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_PREFIX: uniquePrefix('shell'), CHAINLAKE_NATS_URL: testNatsUrl(), ...env });
  try {
    const base = `http://127.0.0.1:${await service.httpPort()}`;
    const deadline = Date.now() + readyTimeoutMs;
    let ready = await fetch(`${base}/readyz`);
    while (ready.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await fetch(`${base}/readyz`);
    }
    const readyz = { status: ready.status, body: await ready.json() };
    const healthz = (await fetch(`${base}/healthz`)).status;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    return { healthz, readyz, metrics, exit: await service.stop() };
  } finally {
    service.kill('SIGKILL');
  }
}
