import { describe, expect, it } from 'vitest';
import { testNatsUrl, uniquePrefix } from '@chainlake/testkit';
import { joinBus } from '../src/index.js';
import { recordingLog } from './helpers.js';

describe('joinBus', () => {
  it('connects from the service config, reports readiness and drains on shutdown', async () => {
    const hooks: Array<() => Promise<void>> = [];
    const checks = new Map<string, () => boolean>();
    const prefix = uniquePrefix('join');
    const bus = await joinBus({
      name: 'join-test',
      config: { CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: prefix },
      log: recordingLog(),
      onShutdown: (fn) => void hooks.push(fn),
      readiness: (name, check) => void checks.set(name, check),
    });
    expect(bus.prefix).toBe(prefix);
    expect(checks.get('nats')?.()).toBe(true);
    expect(hooks).toHaveLength(1);
    await hooks[0]();
    expect(checks.get('nats')?.()).toBe(false);
  });
});
