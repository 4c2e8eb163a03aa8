import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokenAuth, FlightClient, FlightServer } from '../src/index.js';
import { fixtureTable } from './fixture.js';

const TOKEN = 'tok-3f9a';
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('bearer token authentication and Handshake', () => {
  const table = fixtureTable(2, 100);
  const seen: Array<Record<string, string>> = [];
  let server: FlightServer;
  const clients: FlightClient[] = [];
  const client = (options: ConstructorParameters<typeof FlightClient>[1] = {}): FlightClient => {
    const created = new FlightClient(server.location, options);
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    server = new FlightServer(
      {
        async doGet(_ticket, ctx) {
          seen.push(ctx.headers);
          return { schema: table.schema, batches: table.batches };
        },
        async getFlightInfo() {
          throw new Error('never reached without a token');
        },
        listActions: () => [{ type: 'noop', description: 'nothing' }],
      },
      { port: 0, ...bearerTokenAuth(TOKEN) },
    );
    await server.start();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await server.stop(1000);
  });

  it('refuses every RPC without the bearer token, naming what is missing', async () => {
    const anonymous = client();
    await expect(anonymous.doGetTable('x')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('authorization: Bearer') });
    await expect(anonymous.getFlightInfo({ type: 'PATH', path: ['x'] })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(anonymous.listActions()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(anonymous.doPut({ type: 'PATH', path: ['x'] }, table.schema, table.batches)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(client({ token: 'wrong' }).doGetTable('x')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'the authorization header does not carry the right bearer token',
    });
    await expect(client({ headers: { authorization: basic('u', TOKEN) } }).doGetTable('x')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(seen).toHaveLength(0);
  });

  it('serves calls that carry the token', async () => {
    const authorized = client({ token: TOKEN });
    expect((await authorized.doGetTable('x')).numRows).toBe(table.numRows);
    expect(await authorized.listActions()).toEqual([{ type: 'noop', description: 'nothing' }]);
    expect(seen.at(-1)?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('answers a Handshake proven by basic auth, bearer header or payload with the bearer token', async () => {
    for (const proof of [client({ headers: { authorization: basic('anyone', TOKEN) } }).handshake(), client({ token: TOKEN }).handshake(), client().handshake(TOKEN)]) {
      const reply = await proof;
      expect(reply.payload.toString('utf8')).toBe(TOKEN);
      expect(reply.headers.authorization).toBe(`Bearer ${TOKEN}`);
    }
  });

  it('refuses a Handshake with a wrong password or payload', async () => {
    await expect(client({ headers: { authorization: basic('anyone', 'nope') } }).handshake()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(client().handshake('nope')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(client().handshake()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
