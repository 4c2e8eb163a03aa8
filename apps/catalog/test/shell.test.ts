import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { probeServiceShell, spawnService, testPgUrl, uniquePrefix } from '@chainlake/testkit';

describe('catalog service', () => {
  it('is healthy, ready once on NATS and PostgreSQL and serving Flight, exposes its metrics and stops cleanly on SIGTERM', async () => {
    const schema = uniquePrefix('catalogshell');
    const probe = await probeServiceShell('catalog', { CHAINLAKE_POSTGRES_URL: testPgUrl(), CHAINLAKE_POSTGRES_SCHEMA: schema, CHAINLAKE_FLIGHT_PORT: '0' });
    const client = new pg.Client({ connectionString: testPgUrl() });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
    expect(probe.healthz).toBe(200);
    expect(probe.readyz).toEqual({ status: 200, body: expect.objectContaining({ ready: true, checks: { nats: true, postgres: true, flight: true } }) });
    expect(probe.metrics).toMatch(/^chainlake_catalog_process_cpu_seconds_total /m);
    expect(probe.exit).toEqual({ code: 0, signal: null });
  });

  it('refuses to start with a bad variable, naming it, with exit code 2', async () => {
    const service = spawnService('catalog', { CHAINLAKE_HTTP_PORT: 'eighty' });
    expect(await service.exited).toEqual({ code: 2, signal: null });
    expect(service.logs.map((l) => l.msg).join('\n')).toMatch(/CHAINLAKE_HTTP_PORT: expected an integer 0-65535, got "eighty"/);
  });
});
