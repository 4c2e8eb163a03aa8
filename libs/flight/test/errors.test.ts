import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, FlightError, FlightServer } from '../src/index.js';
import { flightService } from '../src/proto.js';
import { fixtureTable } from './fixture.js';

const table = fixtureTable(3, 1_000);

interface SegmentTicket {
  segment: string;
  dataset: string;
}

function parseTicket(ticket: Buffer): SegmentTicket {
  let parsed: unknown;
  try {
    parsed = JSON.parse(ticket.toString('utf8'));
  } catch (err) {
    throw FlightError.invalidArgument(`ticket is not JSON: ${(err as Error).message}`);
  }
  const { segment, dataset } = (parsed ?? {}) as Partial<SegmentTicket>;
  if (typeof segment !== 'string' || typeof dataset !== 'string') throw FlightError.invalidArgument('ticket needs "segment" and "dataset" strings');
  return { segment, dataset };
}

describe('handler failures reach the client as FlightError', () => {
  const unexpected: Array<{ rpc: string; err: unknown }> = [];
  let server: FlightServer;
  let client: FlightClient;

  beforeAll(async () => {
    server = new FlightServer(
      {
        async doGet(raw) {
          const ticket = parseTicket(raw);
          if (ticket.segment === 'crash') throw new Error('disk on fire');
          if (ticket.segment === 'midstream') {
            return {
              schema: table.schema,
              batches: (function* () {
                yield table.batches[0];
                throw new Error('spool file truncated');
              })(),
            };
          }
          if (ticket.segment !== 'eth:0-99') throw FlightError.notFound(`segment ${ticket.segment} is not in the spool`);
          return { schema: table.schema, batches: table.batches };
        },
      },
      { port: 0, onError: (rpc, err) => unexpected.push({ rpc, err }) },
    );
    await server.start();
    client = new FlightClient(server.location);
  });

  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  const serves = async (): Promise<void> => {
    const received = await client.doGetTable(JSON.stringify({ segment: 'eth:0-99', dataset: 'transactions' }));
    expect(received.numRows).toBe(table.numRows);
  };

  it('malformed JSON gives INVALID_ARGUMENT with the handler message', async () => {
    const failure = client.doGetTable('{"segment": eth');
    await expect(failure).rejects.toBeInstanceOf(FlightError);
    await expect(failure).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^ticket is not JSON: /) });
    await serves();
  });

  it('an unknown segment gives NOT_FOUND with the handler message', async () => {
    await expect(client.doGetTable(JSON.stringify({ segment: 'eth:500-599', dataset: 'transactions' }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'segment eth:500-599 is not in the spool',
    });
    await serves();
  });

  it('a plain Error gives INTERNAL with its message, reports it to onError, and the server keeps serving', async () => {
    unexpected.length = 0;
    await expect(client.doGetTable(JSON.stringify({ segment: 'crash', dataset: 'x' }))).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'disk on fire',
    });
    expect(unexpected).toHaveLength(1);
    expect(unexpected[0].rpc).toBe('DoGet');
    expect((unexpected[0].err as Error).message).toBe('disk on fire');
    expect(server.serving).toBe(true);
    await serves();
  });

  it('an error after some batches ends the stream with INTERNAL', async () => {
    const { batches } = await client.doGet(JSON.stringify({ segment: 'midstream', dataset: 'x' }));
    const rows: number[] = [];
    const read = (async () => {
      for await (const batch of batches) rows.push(batch.numRows);
    })();
    await expect(read).rejects.toMatchObject({ code: 'INTERNAL', message: 'spool file truncated' });
    expect(rows).toEqual([table.batches[0].numRows]);
    await serves();
  });

  it('RPCs without a handler answer UNIMPLEMENTED', async () => {
    await expect(client.listFlights()).rejects.toMatchObject({ code: 'UNIMPLEMENTED', message: 'ListFlights is not implemented by this Flight service' });
    await expect(client.doAction('compact')).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
    await expect(client.getFlightInfo({ type: 'PATH', path: ['x'] })).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
    await expect(client.getSchema({ type: 'PATH', path: ['x'] })).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
    await expect(client.doPut({ type: 'PATH', path: ['x'] }, table.schema, table.batches)).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
    await serves();
  });

  it('PollFlightInfo, Handshake and DoExchange answer UNIMPLEMENTED to a plain gRPC client', async () => {
    const raw = new Client(server.location.replace('grpc://', ''), credentials.createInsecure());
    try {
      const poll = await new Promise<ServiceError | null>((resolve) => {
        const method = flightService.PollFlightInfo;
        raw.makeUnaryRequest('/arrow.flight.protocol.FlightService/PollFlightInfo', method.requestSerialize, method.responseDeserialize, { type: 'PATH', path: ['x'] }, (err) =>
          resolve(err),
        );
      });
      expect(poll?.code).toBe(status.UNIMPLEMENTED);
      expect(poll?.details).toBe('PollFlightInfo is not implemented by this Flight service');

      for (const rpc of ['Handshake', 'DoExchange'] as const) {
        const method = flightService[rpc];
        const call = raw.makeBidiStreamRequest(`/arrow.flight.protocol.FlightService/${rpc}`, method.requestSerialize, method.responseDeserialize);
        const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
        call.on('data', () => undefined);
        call.end();
        expect((await ended).code).toBe(status.UNIMPLEMENTED);
      }
    } finally {
      raw.close();
    }
  });
});
