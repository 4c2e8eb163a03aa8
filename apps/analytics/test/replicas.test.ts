import { describe, expect, it } from 'vitest';
import { keyValue } from '@chainlake/bus';
import type { ServiceProcess } from '@chainlake/testkit';
import { livePipeline, SEGMENTS } from './live.js';

describe('analytics replicas', () => {
  const live = livePipeline('arep');

  it('runs one computing replica; when it is killed the standby takes over from its checkpoint, counting nothing twice', async () => {
    const leaderLog = (p: ServiceProcess, n = 1) => p.waitForLog(() => p.logs.filter((l) => String(l.msg).startsWith('leading')).length >= n, 20_000);
    const first = live.start('analytics');
    await leaderLog(first);
    const second = live.start('analytics');
    await second.waitForLog((l) => l.msg === 'standing by');
    live.start('source');
    live.start('transformer');
    const deadline = Date.now() + 60_000;
    while ((await live.segmentsAggregated(first)) < SEGMENTS / 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // The standby computes nothing while the leader lives.
    expect(await live.segmentsAggregated(second)).toBe(0);
    expect([await live.metric(first, 'leader'), await live.metric(second, 'leader')]).toEqual([1, 0]);
    first.kill('SIGKILL');
    await first.exited;
    await leaderLog(second);

    // Another holder steals the lease: the leader notices at its next renewal, stops without writing, and takes over again once the thief's lease lapses.
    const leases = await keyValue(live.bus, 'checkpoints');
    await leases.put('analytics.leader', JSON.stringify({ holder: 'thief' }));
    await second.waitForLog((l) => l.msg === 'lease lost: handing the work over without writing anything more', 10_000);
    await leaderLog(second, 2);

    const done = async () => (await live.publishedWindows()).size === 14;
    while (!(await done()) && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));
    live.expectEqualToBruteForce(await live.publishedWindows());
    expect(await live.segmentsAggregated(second)).toBeGreaterThan(0);
    // Results published by either replica, over HTTP on the survivor.
    const current = (await (await fetch(`http://127.0.0.1:${await second.httpPort()}/results/tx_per_minute`)).json()) as { results: unknown[]; leader: boolean };
    expect([current.results.length, current.leader]).toEqual([14, true]);
  });
});
