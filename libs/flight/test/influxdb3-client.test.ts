import { InfluxDBClient } from '@influxdata/influxdb3-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightError, FlightServer } from '../src/index.js';
import { fixtureTable } from './fixture.js';

// A published third-party Flight client (protobuf-ts over grpc-js) reading from our server.
describe('@influxdata/influxdb3-client against FlightServer', () => {
  const table = fixtureTable(6, 20_000);
  const tickets: unknown[] = [];
  let server: FlightServer;

  beforeAll(async () => {
    server = new FlightServer(
      {
        async doGet(ticket) {
          const request = JSON.parse(ticket.toString('utf8')) as { database?: string; sql_query?: string };
          tickets.push(request);
          if (request.database !== 'chain' || request.sql_query !== 'SELECT * FROM transactions') {
            throw FlightError.notFound(`no result for ${ticket.toString('utf8')}`);
          }
          return { schema: table.schema, batches: table.batches };
        },
      },
      { port: 0 },
    );
    await server.start();
  });

  afterAll(() => server.stop(1000));

  it('returns every row of the multi-batch table, nulls and dictionary values included', async () => {
    const client = new InfluxDBClient({ host: `http://127.0.0.1:${server.location.split(':').at(-1)}`, token: 'unused' });
    const rows: Array<Record<string, unknown>> = [];
    try {
      for await (const row of client.query('SELECT * FROM transactions', 'chain')) rows.push(row);
    } finally {
      await client.close();
    }

    expect(tickets).toContainEqual(expect.objectContaining({ database: 'chain', sql_query: 'SELECT * FROM transactions', query_type: 'sql' }));
    expect(rows).toHaveLength(table.numRows);
    const expected = table.toArray().map((row) => row.toJSON());
    for (let i = 0; i < rows.length; i++) {
      if (JSON.stringify(rows[i], bigints) !== JSON.stringify(expected[i], bigints)) {
        expect({ row: i, ...rows[i] }).toEqual({ row: i, ...expected[i] });
      }
    }
    expect(rows.filter((row) => row.amount === null).length).toBeGreaterThan(0);
    expect(new Set(rows.map((row) => row.status)).size).toBeGreaterThan(6 * 3);
  });
});

function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
