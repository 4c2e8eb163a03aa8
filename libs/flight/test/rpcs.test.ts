import { Client, credentials } from '@grpc/grpc-js';
import { Message, MessageHeader, Table, type RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, FlightServer, type CallContext, type FlightDescriptor, type FlightInfo } from '../src/index.js';
import { flightService } from '../src/proto.js';
import { columnValues, describeSchema, fixtureTable } from './fixture.js';

const table = fixtureTable(5, 2_000);

describe('metadata and upload RPCs', () => {
  const puts: Array<{ descriptor: FlightDescriptor; table: Table; headers: Record<string, string> }> = [];
  let server: FlightServer;
  let client: FlightClient;

  const info = (name: string, location: string): FlightInfo => ({
    schema: table.schema,
    descriptor: { type: 'PATH', path: ['eth', name] },
    endpoints: [{ ticket: Buffer.from(JSON.stringify({ segment: 'eth:0-99', dataset: name })), locations: [location] }],
    totalRecords: table.numRows,
    totalBytes: -1,
    ordered: true,
    appMetadata: Buffer.from(`meta:${name}`),
  });

  beforeAll(async () => {
    server = new FlightServer(
      {
        *listFlights(criteria) {
          for (const name of ['blocks', 'transactions', 'logs']) {
            if (name.startsWith(criteria.toString('utf8'))) yield info(name, server.location);
          }
        },
        async getFlightInfo(descriptor) {
          if (descriptor.type !== 'CMD') throw new Error('expected a CMD descriptor');
          return { ...info(descriptor.cmd!.toString('utf8'), server.location), descriptor };
        },
        async getSchema(descriptor) {
          return descriptor.path?.[1] === 'transactions' ? table.schema : table.schema.select(['id', 'hash']);
        },
        async doPut(descriptor, batches, ctx: CallContext) {
          const all: RecordBatch[] = [];
          for await (const batch of batches) all.push(batch);
          puts.push({ descriptor, table: new Table(all), headers: ctx.headers });
          return Buffer.from(`stored ${all.reduce((n, batch) => n + batch.numRows, 0)} rows`);
        },
        doAction(type, body) {
          if (type === 'echo') {
            return (async function* () {
              yield body;
              yield Buffer.from(body.toString('utf8').toUpperCase());
            })();
          }
          return Promise.resolve([Buffer.from(`${type} done`)]);
        },
        listActions: () => [
          { type: 'echo', description: 'returns the body, then the body in upper case' },
          { type: 'compact', description: 'merges small files' },
        ],
      },
      { port: 0 },
    );
    await server.start();
    client = new FlightClient(server.location, { headers: { authorization: 'Bearer test-token' } });
  });

  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('DoPut uploads a multi-batch table with its descriptor and returns the PutResult metadata', async () => {
    const results = await client.doPut({ type: 'PATH', path: ['eth', 'transactions'] }, table.schema, table.batches);
    expect(results.map(String)).toEqual([`stored ${table.numRows} rows`]);
    expect(puts).toHaveLength(1);
    expect(puts[0].descriptor).toEqual({ type: 'PATH', path: ['eth', 'transactions'] });
    expect(puts[0].headers.authorization).toBe('Bearer test-token');
    expect(describeSchema(puts[0].table.schema)).toEqual(describeSchema(table.schema));
    expect(columnValues(puts[0].table)).toEqual(columnValues(table));
  });

  it('DoPut accepts an async iterable of batches', async () => {
    async function* batches(): AsyncGenerator<RecordBatch> {
      yield* table.batches.slice(0, 2);
    }
    const results = await client.doPut({ type: 'CMD', cmd: Buffer.from('append') }, table.schema, batches());
    expect(results.map(String)).toEqual([`stored 4000 rows`]);
    expect(puts.at(-1)?.descriptor).toEqual({ type: 'CMD', cmd: Buffer.from('append') });
  });

  it('DoAction streams results from async iterables and arrays', async () => {
    expect((await client.doAction('echo', Buffer.from('hello'))).map(String)).toEqual(['hello', 'HELLO']);
    expect((await client.doAction('compact')).map(String)).toEqual(['compact done']);
  });

  it('ListActions lists the action types', async () => {
    expect(await client.listActions()).toEqual([
      { type: 'echo', description: 'returns the body, then the body in upper case' },
      { type: 'compact', description: 'merges small files' },
    ]);
  });

  it('ListFlights passes the criteria and returns complete FlightInfos', async () => {
    const all = await client.listFlights();
    expect(all.map((flight) => flight.descriptor.path)).toEqual([
      ['eth', 'blocks'],
      ['eth', 'transactions'],
      ['eth', 'logs'],
    ]);
    const filtered = await client.listFlights(Buffer.from('tr'));
    expect(filtered).toHaveLength(1);
    const [flight] = filtered;
    expect(describeSchema(flight.schema)).toEqual(describeSchema(table.schema));
    expect(flight.endpoints).toEqual([
      { ticket: Buffer.from('{"segment":"eth:0-99","dataset":"transactions"}'), locations: [server.location] },
    ]);
    expect(flight).toMatchObject({ totalRecords: table.numRows, totalBytes: -1, ordered: true, appMetadata: Buffer.from('meta:transactions') });
  });

  it('GetFlightInfo answers for a CMD descriptor', async () => {
    const flight = await client.getFlightInfo({ type: 'CMD', cmd: Buffer.from('logs') });
    expect(flight.descriptor).toEqual({ type: 'CMD', cmd: Buffer.from('logs') });
    expect(flight.endpoints[0].ticket.toString()).toBe('{"segment":"eth:0-99","dataset":"logs"}');
    expect(describeSchema(flight.schema)).toEqual(describeSchema(table.schema));
    await expect(client.getFlightInfo({ type: 'PATH', path: ['logs'] })).rejects.toMatchObject({ code: 'INTERNAL', message: 'expected a CMD descriptor' });
  });

  it('GetSchema returns the schema for the descriptor', async () => {
    expect(describeSchema(await client.getSchema({ type: 'PATH', path: ['eth', 'transactions'] }))).toEqual(describeSchema(table.schema));
    expect((await client.getSchema({ type: 'PATH', path: ['eth', 'blocks'] })).fields.map((field) => field.name)).toEqual(['id', 'hash']);
  });

  it('FlightInfo.schema on the wire is an encapsulated IPC schema message', async () => {
    const raw = new Client(server.location.replace('grpc://', ''), credentials.createInsecure());
    try {
      const method = flightService.GetFlightInfo;
      const wire = await new Promise<{ schema: Buffer }>((resolve, reject) =>
        raw.makeUnaryRequest(
          '/arrow.flight.protocol.FlightService/GetFlightInfo',
          method.requestSerialize,
          method.responseDeserialize,
          { type: 'CMD', cmd: Buffer.from('blocks') },
          (err, value) => (err ? reject(err) : resolve(value as { schema: Buffer })),
        ),
      );
      expect(wire.schema.readUInt32LE(0)).toBe(0xffffffff);
      const length = wire.schema.readInt32LE(4);
      expect(wire.schema.byteLength).toBe(8 + length);
      const message = Message.decode(wire.schema.subarray(8));
      expect(message.headerType).toBe(MessageHeader.Schema);
      expect(message.bodyLength).toBe(0);
    } finally {
      raw.close();
    }
  });

  it('rejects a descriptor whose type is neither PATH nor CMD', async () => {
    await expect(client.getSchema({ type: 'FILE' } as unknown as FlightDescriptor)).rejects.toThrow('FlightDescriptor type must be PATH or CMD, got FILE');
  });
});

describe('server location', () => {
  it('advertises the advertise host while binding another address', async () => {
    const server = new FlightServer({}, { host: '0.0.0.0', advertiseHost: '127.0.0.1', port: 0 });
    const port = await server.start();
    expect(server.location).toBe(`grpc://127.0.0.1:${port}`);
    const client = new FlightClient(server.location);
    await expect(client.listActions()).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
    client.close();
    await server.stop(100);
  });
});
