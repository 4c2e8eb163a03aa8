import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, FlightError, FlightServer } from '../src/index.js';
import { fixtureBatch, fixtureSchema } from './fixture.js';

describe('client cancellation', () => {
  const batch = fixtureBatch(0, 0, 5_000);
  const errors: unknown[] = [];
  /** Tickets whose calls reported onDone. */
  const done: string[] = [];
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
        async doGet(ticket, ctx) {
          const onDone = () => done.push(ticket.toString());
          if (ticket.toString() === 'finite') return { schema: fixtureSchema, batches: [batch, batch, batch], onDone };
          return {
            schema: fixtureSchema,
            onDone,
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

  it('calls onDone once per call, after a complete stream and after a cancelled one', async () => {
    done.length = 0;
    const table = await client.doGetTable('finite');
    expect(table.numRows).toBe(15_000);
    await sleep(50);
    expect(done).toEqual(['finite']);
    expectEnd();
    const { batches } = await client.doGet('endless');
    for await (const _ of batches) break;
    await ended;
    for (let waited = 0; done.length < 2 && waited < 2000; waited += 10) await sleep(10);
    expect(done).toEqual(['finite', 'endless']);
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
