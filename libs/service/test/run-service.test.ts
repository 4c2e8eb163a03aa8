import { afterEach, describe, expect, it } from 'vitest';
import { TinyService } from './spawn.js';

const services: TinyService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.stop();
});

function start(vars: Record<string, string> = {}): TinyService {
  const service = new TinyService(vars);
  services.push(service);
  return service;
}

describe('runService', () => {
  it('serves /healthz, /readyz and /metrics, and shuts down cleanly on SIGTERM', async () => {
    const service = start();
    const url = await service.url();
    expect((await service.waitForLine('advertising')).host).toBe('127.0.0.1');

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, checks: { always: true, flag: false } });
    await fetch(`${url}/flag`, { method: 'POST' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { always: true, flag: true } });

    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toContain('chainlake_tiny_greetings_total{kind="test"} 1');
    expect(text).toContain('chainlake_tiny_process_resident_memory_bytes');

    service.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const messages = service.messages();
    expect(messages.indexOf('hook registered second')).toBeGreaterThan(-1);
    expect(messages.indexOf('hook registered second')).toBeLessThan(messages.indexOf('hook registered first'));
    expect(messages.at(-1)).toBe('stopped');
    for (const line of service.lines) expect(line).toMatchObject({ service: 'tiny', level: expect.any(String), msg: expect.any(String) });
  });

  it('exits 2 naming every bad variable', async () => {
    const service = start({ CHAINLAKE_HTTP_PORT: 'abc', TINY_SLOW_HOOK_MS: '-1' });
    expect(await service.exited).toBe(2);
    expect(service.lines).toHaveLength(1);
    const [line] = service.lines;
    expect(line).toMatchObject({ service: 'tiny', level: 'fatal' });
    expect(line.msg).toContain('CHAINLAKE_HTTP_PORT: expected an integer 0-65535, got "abc"');
    expect(line.msg).toContain('TINY_SLOW_HOOK_MS');
  });

  it('exits 1 when start fails, saying why', async () => {
    const service = start({ TINY_FAIL_START: 'true' });
    expect(await service.exited).toBe(1);
    const failure = service.lines.find((l) => l.msg === 'start failed');
    expect(JSON.stringify(failure)).toContain('cannot reach the chain node');
  });

  it('is not ready while shutting down, and exits 1 when the hooks outlast the timeout', async () => {
    const service = start({ TINY_SLOW_HOOK_MS: '5000', CHAINLAKE_SHUTDOWN_TIMEOUT_MS: '1500' });
    const url = await service.url();
    await fetch(`${url}/flag`, { method: 'POST' });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    service.kill('SIGTERM');
    await service.waitForLine('shutting down');
    const during = await fetch(`${url}/readyz`);
    expect(during.status).toBe(503);
    expect(await during.json()).toMatchObject({ ready: false, shuttingDown: true });
    expect(await service.exited).toBe(1);
    expect(service.messages()).toContain('shutdown timed out; exiting');
  });

  it('exits 1 at once on a second signal', async () => {
    const service = start({ TINY_SLOW_HOOK_MS: '10000' });
    await service.url();
    service.kill('SIGTERM');
    await service.waitForLine('shutting down');
    service.kill('SIGINT');
    expect(await service.exited).toBe(1);
    expect(service.messages()).not.toContain('hook registered second');
  });

  it('logs an unhandled rejection and exits 1', async () => {
    const service = start({ TINY_UNHANDLED_REJECTION: 'yes' });
    expect(await service.exited).toBe(1);
    const line = service.lines.find((l) => l.msg === 'unhandled promise rejection; exiting');
    expect(JSON.stringify(line)).toContain('nobody awaited me');
  });
});
