import { describe, expect, it } from 'vitest';
import { FlightClient, FlightError } from '@chainlake/flight';
import { livePipeline, SEGMENTS } from './live.js';

describe('analytics over the live pipeline', () => {
  const live = livePipeline('awin');

  it('publishes every closed window with exactly the brute-force values, replayable from the stream', async () => {
    live.start('source');
    live.start('transformer');
    const analytics = live.start('analytics');
    const deadline = Date.now() + 60_000;
    while ((await live.segmentsAggregated(analytics)) < SEGMENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await live.segmentsAggregated(analytics)).toBe(SEGMENTS);
    live.expectEqualToBruteForce(await live.publishedWindows());
    const current = (await (await fetch(`http://127.0.0.1:${await analytics.httpPort()}/results/tx_per_minute`)).json()) as { results: unknown[]; open: unknown[] };
    expect(current.results).toHaveLength(14);
    expect(current.open).toHaveLength(1);

    // The same results as Arrow over Flight.
    const flight = new FlightClient(String((await analytics.waitForLog((l) => l.msg === 'flight listening')).location));
    const table = await flight.doGetTable('{"analytics":"tx_per_minute"}');
    const want = live.bruteForce();
    expect(table.numRows).toBe(14);
    for (let i = 0; i < table.numRows; i++) {
      const [count, , value] = want.get(table.getChild('window_start')!.get(i) as string)!;
      expect(table.getChild('count')!.get(i)).toBe(count);
      expect(table.getChild('sum_value')!.get(i)).toBe(value.toString());
    }
    const refused = async (ticket: string) => flight.doGetTable(ticket).then(() => undefined, (err: FlightError) => err.code);
    expect(await refused('{"analytics":')).toBe('INVALID_ARGUMENT');
    expect(await refused('{"table":"x"}')).toBe('INVALID_ARGUMENT');
    expect(await refused('{"analytics":"nope"}')).toBe('NOT_FOUND');
    flight.close();
  });

  it('counts nothing twice when killed mid-stream and restarted', async () => {
    live.start('source');
    live.start('transformer');
    const first = live.start('analytics');
    const deadline = Date.now() + 60_000;
    while ((await live.segmentsAggregated(first)) < SEGMENTS / 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.kill('SIGKILL');
    await first.exited;
    const second = live.start('analytics');
    const done = async () => (await live.publishedWindows()).size === 14 && (await live.segmentsAggregated(second)) > 0;
    while (!(await done()) && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));
    live.expectEqualToBruteForce(await live.publishedWindows());
  });
});
