import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, DefineRequest, DefinitionReply, deleteStreams, DropRequest, request, type Bus } from '@chainlake/bus';
import { spawnService, tempDir, testNatsUrl, uniquePrefix, type ServiceProcess } from '@chainlake/testkit';

const perMinute = { name: 'tx_per_minute', dataset: 'transactions', window: { kind: 'tumbling', sizeMs: 60_000 }, aggregates: [{ fn: 'count' }] };

describe('analytics definitions', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let bus: Bus;
  let analytics: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    dir = await tempDir('analytics-defs');
    bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix('adefs'), name: 'definitions-test' });
    const file = join(dir.path, 'definitions.yaml');
    await writeFile(file, [
      'definitions:',
      '  - name: tx_per_minute',
      '    dataset: transactions',
      '    window: { kind: tumbling, sizeMs: 60000 }',
      '    aggregates: [{ fn: count }]',
      '  - name: bad_sum',
      '    dataset: transactions',
      '    window: { kind: tumbling, sizeMs: 60000 }',
      '    aggregates: [{ fn: sum, column: from_address }]',
    ].join('\n'));
    analytics = spawnService('analytics', {
      CHAINLAKE_NATS_URL: testNatsUrl(), CHAINLAKE_PREFIX: bus.prefix, CHAINLAKE_HTTP_PORT: '0', CHAINLAKE_FLIGHT_PORT: '0', CHAINLAKE_ANALYTICS_DEFINITIONS: file,
    });
    base = `http://127.0.0.1:${await analytics.httpPort()}`;
  });

  afterAll(async () => {
    await analytics.stop();
    await deleteStreams(bus);
    await bus.drain();
    await dir.remove();
  });

  const names = async (): Promise<string[]> => ((await (await fetch(`${base}/definitions`)).json()) as Array<{ name: string }>).map((d) => d.name).sort();
  const eventually = async (check: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('loads the good definitions of a file and refuses the bad one, naming what is wrong', async () => {
    expect(await names()).toEqual(['tx_per_minute']);
    const refused = analytics.logs.find((l) => String(l.msg).startsWith('definition in file refused'));
    expect(String(refused?.err)).toMatch(/bad_sum.*aggregates\[0\]/);
  });

  it('defines and drops over NATS, refusing bad definitions with a clear error', async () => {
    const define = (definition: unknown) => request(bus, bus.subjects.control('analytics', 'define'), DefineRequest, DefinitionReply, { v: 1, definition });
    const badPercentile = await define({ ...perMinute, name: 'fees', aggregates: [{ fn: 'percentile', column: 'gas_price', p: 120 }] });
    expect(badPercentile).toMatchObject({ ok: false, error: expect.stringMatching(/between 0 and 100, got 120/) });
    const unknownColumn = await define({ ...perMinute, name: 'x', groupBy: ['nope'] });
    expect(unknownColumn).toMatchObject({ ok: false, error: expect.stringMatching(/nope/) });
    expect(await define({ ...perMinute, name: 'gas_by_type', groupBy: ['transaction_type'], aggregates: [{ fn: 'sum', column: 'gas_used' }] })).toEqual({ v: 1, ok: true, name: 'gas_by_type' });
    await eventually(async () => (await names()).length === 2);
    const drop = (name: string) => request(bus, bus.subjects.control('analytics', 'drop'), DropRequest, DefinitionReply, { v: 1, name });
    expect(await drop('gas_by_type')).toEqual({ v: 1, ok: true, name: 'gas_by_type' });
    expect(await drop('gas_by_type')).toMatchObject({ ok: false, error: expect.stringMatching(/no definition named "gas_by_type"/) });
    await eventually(async () => (await names()).length === 1);
  });

  it('defines over HTTP, answering 400 with the reason for a bad definition', async () => {
    const post = (body: unknown) => fetch(`${base}/definitions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const negative = await post({ ...perMinute, name: 'neg', window: { kind: 'tumbling', sizeMs: -5 } });
    expect(negative.status).toBe(400);
    expect(((await negative.json()) as { error: string }).error).toMatch(/sizeMs/);
    expect((await post({ ...perMinute, name: 'again' })).status).toBe(201);
    await eventually(async () => (await names()).includes('again'));
    expect((await fetch(`${base}/results/again`)).status).toBe(200);
    expect((await fetch(`${base}/results/missing`)).status).toBe(404);
    expect((await fetch(`${base}/definitions/again`, { method: 'DELETE' })).status).toBe(204);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^chainlake_analytics_definitions_rejected_total [1-9]/m);
  });
});
