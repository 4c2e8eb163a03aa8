import { Table, type RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DirectFlightDataWriter } from '../src/direct-response.js';
import { FlightClient, FlightServer } from '../src/index.js';
import { columnValues, describeSchema, fixtureBatch, fixtureTable } from './fixture.js';

const MiB = 1024 * 1024;

function statusDictionary(batch: RecordBatch): unknown[] {
  return [...(batch.getChild('status')!.data[0].dictionary ?? [])];
}

describe('DoGet round trip between FlightServer and FlightClient', () => {
  const table = fixtureTable(6, 20_000);
  let server: FlightServer;
  let client: FlightClient;

  beforeAll(async () => {
    server = new FlightServer({ doGet: async () => ({ schema: table.schema, batches: table.batches }) }, { port: 0 });
    await server.start();
    client = new FlightClient(server.location);
  });

  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('delivers identical schema, values and nulls for a multi-batch table', async () => {
    const received = await client.doGetTable('{"segment":"eth:0-99","dataset":"transactions"}');

    expect(received.numRows).toBe(120_000);
    expect(describeSchema(received.schema)).toEqual(describeSchema(table.schema));
    expect(received.schema.fields[3].type.toString()).toBe('Timestamp<MICROSECOND, UTC>');
    const expected = columnValues(table);
    const actual = columnValues(received);
    for (const name of Object.keys(expected)) expect(actual[name], name).toEqual(expected[name]);
    expect(actual.memo.filter((value) => value === null)).toHaveLength(expected.memo.filter((value) => value === null).length);
  });

  it('carries each batch with its own dictionary (replacement dictionaries on the wire)', async () => {
    const received = await client.doGetTable('any');
    const dictionaries = received.batches.map(statusDictionary);
    expect(new Set(dictionaries.map((d) => JSON.stringify(d))).size).toBe(table.batches.length);
    expect(dictionaries[0]).toEqual(statusDictionary(table.batches[0]));
    expect(dictionaries.at(-1)).toEqual(statusDictionary(table.batches.at(-1)!));
  });

  it('writes the FlightData straight to the HTTP/2 stream, past grpc-js framing, on the grpc-js version we pin', async () => {
    const open = vi.spyOn(DirectFlightDataWriter, 'open');
    try {
      const received = await client.doGetTable('any');
      expect(received.numRows).toBe(table.numRows);
      expect(open).toHaveBeenCalledTimes(1);
      expect(open.mock.results[0].value).toBeInstanceOf(DirectFlightDataWriter);
    } finally {
      open.mockRestore();
    }
  });

  it('streams batches lazily through doGet', async () => {
    const { schema, batches } = await client.doGet(Buffer.from('any'));
    expect(schema.fields.map((field) => field.name)).toEqual(table.schema.fields.map((field) => field.name));
    let rows = 0;
    for await (const batch of batches) rows += batch.numRows;
    expect(rows).toBe(table.numRows);
  });
});

describe('batches larger than the message limit', () => {
  const limit = 1 * MiB;
  // ~12 MB of Arrow data in a single batch, far above the 1 MiB limit on both sides.
  const big = fixtureBatch(0, 0, 150_000);
  let server: FlightServer;
  let client: FlightClient;
  let stored: Table | undefined;

  beforeAll(async () => {
    server = new FlightServer(
      {
        doGet: async () => ({ schema: big.schema, batches: [big] }),
        async doPut(_descriptor, batches) {
          const all: RecordBatch[] = [];
          for await (const batch of batches) all.push(batch);
          stored = new Table(all);
        },
      },
      { port: 0, maxMessageBytes: limit },
    );
    await server.start();
    client = new FlightClient(server.location, { maxMessageBytes: limit });
  });

  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('are split on DoGet and arrive complete', async () => {
    expect(big.data.children.reduce((sum, child) => sum + child.byteLength, 0)).toBeGreaterThan(8 * limit);
    const received = await client.doGetTable('big');
    expect(received.batches.length).toBeGreaterThan(8);
    expect(received.numRows).toBe(big.numRows);
    const expected = columnValues(new Table([big]));
    const actual = columnValues(received);
    for (const name of Object.keys(expected)) expect(actual[name], name).toEqual(expected[name]);
  });

  it('are split on DoPut and arrive complete', async () => {
    await client.doPut({ type: 'PATH', path: ['big'] }, big.schema, [big]);
    expect(stored?.numRows).toBe(big.numRows);
    expect(columnValues(stored!).hash).toEqual(columnValues(new Table([big])).hash);
  });
});
