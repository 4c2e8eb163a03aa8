import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, deleteStreams, type Bus } from '@chainlake/bus';
import { FlightClient, FlightError } from '@chainlake/flight';
import { tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';
import { meshEnv, metric, startMesh } from './pipeline.js';


async function flightError(promise: Promise<unknown>): Promise<FlightError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FlightError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('bad input never stops a service', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let prefix: string;
  let mesh: Record<string, ServiceProcess>;
  let bus: Bus;
  let sourceFlight: FlightClient;

  beforeAll(async () => {
    dir = await tempDir('e2e-bad');
    prefix = uniquePrefix('bad');
    const env = meshEnv(prefix, dir.path, { CHAINLAKE_BACKFILL_FROM: '0', CHAINLAKE_BACKFILL_TO: '199', CHAINLAKE_SEGMENT_BLOCKS: '50' });
    mesh = startMesh(env, dir.path, ['source', 'transformer']);
    const listening = await mesh.source.waitForLog((l) => l.msg === 'flight listening');
    sourceFlight = new FlightClient(String(listening.location));
    bus = await connectBus({ servers: testNatsUrl(), prefix, name: 'bad-input-test' });
  });

  afterAll(async () => {
    sourceFlight?.close();
    await Promise.all(Object.values(mesh).map((p) => p.stop()));
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  it('answers a malformed ticket with INVALID_ARGUMENT and an unknown segment with NOT_FOUND', async () => {
    const notJson = await flightError(sourceFlight.doGetTable('{"segment":'));
    expect(notJson.code).toBe('INVALID_ARGUMENT');
    expect(notJson.message).toMatch(/not JSON/);
    const noDataset = await flightError(sourceFlight.doGetTable(JSON.stringify({ segment: 'synthetic:0-49' })));
    expect(noDataset.code).toBe('INVALID_ARGUMENT');
    expect(noDataset.message).toMatch(/dataset/);
    const badRange = await flightError(sourceFlight.doGetTable(JSON.stringify({ segment: 'synthetic:9-1', dataset: 'raw_blocks' })));
    expect(badRange.code).toBe('INVALID_ARGUMENT');
    const unknown = await flightError(sourceFlight.doGetTable(JSON.stringify({ segment: 'synthetic:5000000-5000049', dataset: 'raw_blocks' })));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toMatch(/synthetic:5000000-5000049/);
    // Still serving after all that: a segment that exists comes back whole (its consumer may
    // already be done with it, in which case the source re-produces it on request first).
    const reproduced = await bus.nc.request(bus.subjects.control('source', 'reproduce'), JSON.stringify({ v: 1, chain: 'synthetic', from: 0, to: 49 }), { timeout: 10_000 });
    const reply = reproduced.json<{ ok: boolean; tickets: Record<string, string> }>();
    expect(reply.ok).toBe(true);
    const table = await sourceFlight.doGetTable(reply.tickets.raw_blocks);
    expect(table.numRows).toBe(50);
    const port = await mesh.source.httpPort();
    expect(await metric(port, 'chainlake_source_flight_rejected_tickets_total{code="INVALID_ARGUMENT"}')).toBe(3);
    expect(await metric(port, 'chainlake_source_flight_rejected_tickets_total{code="NOT_FOUND"}')).toBe(1);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('dead-letters and counts an invalid segment message and goes on with the valid ones', async () => {
    const port = await mesh.transformer.httpPort();
    await bus.js.publish(bus.subjects.rawSegments('synthetic'), new TextEncoder().encode('{"v":1,"chain":"synthetic","from":10,"to":2}'));
    await bus.js.publish(bus.subjects.rawSegments('synthetic'), new TextEncoder().encode('not json at all'));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await metric(port, 'chainlake_transformer_invalid_messages_total')) < 2) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await metric(port, 'chainlake_transformer_invalid_messages_total')).toBe(2);
    const dead = await bus.jsm.streams.info(bus.streams.deadLetter);
    expect(dead.state.messages).toBe(2);
    // The four valid segments of the backfill are still transformed.
    while (Date.now() < deadline && (await metric(port, 'chainlake_transformer_segments_transformed_total')) < 4) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await metric(port, 'chainlake_transformer_segments_transformed_total')).toBe(4);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
  });
});
