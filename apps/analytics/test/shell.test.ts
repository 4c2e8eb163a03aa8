import { describe, expect, it } from 'vitest';
import { probeServiceShell, spawnService } from '@chainlake/testkit';

describe('analytics service', () => {
  it('is healthy, ready once on NATS, exposes its metrics and stops cleanly on SIGTERM', async () => {
    const probe = await probeServiceShell('analytics', { CHAINLAKE_FLIGHT_PORT: '0' });
    expect(probe.healthz).toBe(200);
    expect(probe.readyz).toEqual({ status: 200, body: expect.objectContaining({ ready: true, checks: { nats: true, flight: true, consumer: true } }) });
    expect(probe.metrics).toMatch(/^chainlake_analytics_process_cpu_seconds_total /m);
    expect(probe.exit).toEqual({ code: 0, signal: null });
  });

  it('refuses to start with a bad variable, naming it, with exit code 2', async () => {
    const service = spawnService('analytics', { CHAINLAKE_HTTP_PORT: 'eighty' });
    expect(await service.exited).toEqual({ code: 2, signal: null });
    expect(service.logs.map((l) => l.msg).join('\n')).toMatch(/CHAINLAKE_HTTP_PORT: expected an integer 0-65535, got "eighty"/);
  });
});
