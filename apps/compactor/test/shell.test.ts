import { afterAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '@chainlake/postgres';
import { probeServiceShell, spawnService, tempDir, testPgUrl, uniquePrefix } from '@chainlake/testkit';

describe('compactor service', () => {
  const schema = uniquePrefix('compactor_shell');

  afterAll(async () => {
    const pool = await connectPostgres({ url: testPgUrl(), schema });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it('is healthy, ready once on NATS and PostgreSQL, exposes its metrics and stops cleanly on SIGTERM', async () => {
    const dir = await tempDir('compactor-shell');
    try {
      const probe = await probeServiceShell('compactor', {
        CHAINLAKE_POSTGRES_URL: testPgUrl(), CHAINLAKE_POSTGRES_SCHEMA: schema, CHAINLAKE_WAREHOUSE: dir.path, CHAINLAKE_CATALOG_URL: 'http://127.0.0.1:9',
      });
      expect(probe.healthz).toBe(200);
      expect(probe.readyz).toEqual({ status: 200, body: expect.objectContaining({ ready: true, checks: { nats: true, postgres: true } }) });
      expect(probe.metrics).toMatch(/^chainlake_compactor_process_cpu_seconds_total /m);
      expect(probe.exit).toEqual({ code: 0, signal: null });
    } finally {
      await dir.remove();
    }
  });

  it.each([
    [{ CHAINLAKE_HTTP_PORT: 'eighty' }, /CHAINLAKE_HTTP_PORT: expected an integer 0-65535, got "eighty"/],
    [{ CHAINLAKE_COMPACTOR_SCHEDULE: 'merge=61 * * * *' }, /CHAINLAKE_COMPACTOR_SCHEDULE: schedule entry "merge=61 \* \* \* \*": bad cron expression/],
    [{ CHAINLAKE_COMPACTOR_SCHEDULE: 'vacuum=0 3 * * *' }, /CHAINLAKE_COMPACTOR_SCHEDULE: schedule entry "vacuum=0 3 \* \* \*": unknown job "vacuum"; jobs are hot-to-cold, merge, maintenance/],
    [{ CHAINLAKE_DATASETS: 'blocks,receipts' }, /CHAINLAKE_DATASETS: unknown dataset "receipts"/],
  ])('refuses to start with a bad variable (%o), naming it, with exit code 2', async (env, message) => {
    const service = spawnService('compactor', env);
    expect(await service.exited).toEqual({ code: 2, signal: null });
    expect(service.logs.map((l) => l.msg).join('\n')).toMatch(message);
  });
});
