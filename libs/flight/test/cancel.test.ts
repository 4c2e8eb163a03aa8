import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, FlightError, FlightServer } from '../src/index.js';
import { fixtureBatch, fixtureSchema } from './fixture.js';

describe('client cancellation', () => {
  const batch = fixtureBatch(0, 0, 5_000);
  const errors: unknown[] = [];
  let ended: Promise<{ produced: number; aborted: boolean }>;
  let markEnded: (value: { produced: number; aborted: boolean }) => void;
  let server: FlightServer;
  let client: FlightClient;

  const expectEnd = (): void => {
    ended = new Promise((resolve) => (markEnded = resolve));
  };

  beforeAll(async () => {
    server = new FlightServer(
      {
        async doGet(_ticket, ctx) {
          return {
            schema: fixtureSchema,
            // An endless stream: only cancellation ends it.
            batches: (async function* () {
              let produced = 0;
              try {
                for (;;) {
                  yield batch;
                  produced++;
                  await sleep(1);
                }
              } finally {
                markEnded({ produced, aborted: ctx.signal.aborted });
              }
            })(),
          };
        },
      },
      { port: 0, onError: (_rpc, err) => errors.push(err) },
    );
    await server.start();
    client = new FlightClient(server.location);
  });

  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('aborting the signal cancels the call and stops the server-side iteration', async () => {
    expectEnd();
    const controller = new AbortController();
    const { batches } = await client.doGet('endless', { signal: controller.signal });
    let received = 0;
    const read = (async () => {
      for await (const _ of batches) {
        if (++received === 3) controller.abort();
      }
    })();
    await expect(read).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(read).rejects.toBeInstanceOf(FlightError);
    const end = await ended;
    expect(end.aborted).toBe(true);
    expect(received).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
  });

  it('leaving the loop early cancels the call too', async () => {
    expectEnd();
    const { batches } = await client.doGet('endless');
    let received = 0;
    for await (const _ of batches) {
      if (++received === 2) break;
    }
    const end = await ended;
    expect(end.aborted).toBe(true);
    expect(errors).toEqual([]);
  });

  it('keeps serving after cancellations', async () => {
    expectEnd();
    const { batches } = await client.doGet('endless');
    const iterator = batches[Symbol.asyncIterator]();
    expect((await iterator.next()).value.numRows).toBe(batch.numRows);
    await iterator.return?.();
    expect((await ended).aborted).toBe(true);
    expect(server.serving).toBe(true);
  });
});
