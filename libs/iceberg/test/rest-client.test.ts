import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@chainlake/testkit';
import { RestCatalogClient, RestCatalogError, RestCommitConflictError, type TableMetadata } from '../src/index.js';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body?: unknown;
}

type Answer = { status: number; body?: unknown; text?: string };

/** An HTTP server answering each request with the next scripted answer, recording what it received. */
async function scriptedServer(answers: Answer[]): Promise<{ uri: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body: text === '' ? undefined : JSON.parse(text) });
      const answer = answers.shift() ?? { status: 500, text: 'no scripted answer left' };
      res.writeHead(answer.status, { 'content-type': answer.text === undefined ? 'application/json' : 'text/plain' });
      res.end(answer.text ?? (answer.body === undefined ? '' : JSON.stringify(answer.body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen, server };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

const error = (status: number, type: string, message: string): Answer => ({ status, body: { error: { message, type, code: status } } });
const metadata = { 'table-uuid': 'u', location: 'file:///w/eth/blocks', 'current-snapshot-id': -1 } as unknown as TableMetadata;
const loaded: Answer = { status: 200, body: { 'metadata-location': 'file:///w/eth/blocks/metadata/v1.metadata.json', metadata, config: {} } };

describe('RestCatalogClient', () => {
  it('sends the bearer token and the REST bodies, and reads the answers', async () => {
    const { uri, seen } = await scriptedServer([{ status: 200, body: { namespaces: [['eth'], ['sol']] } }, loaded, { status: 204 }]);
    const client = new RestCatalogClient({ uri, token: 't0ken' });
    expect(await client.listNamespaces()).toEqual(['eth', 'sol']);
    const created = await client.createTable('eth', 'blocks', {
      schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'n', required: true, type: 'long' }] },
      spec: { fields: [{ 'source-id': 1, name: 'n_bucket', transform: 'truncate[10]' }] },
    });
    expect(created).toEqual({ metadataLocation: 'file:///w/eth/blocks/metadata/v1.metadata.json', metadata, config: {} });
    await client.dropTable('eth', 'blocks', { purge: true });
    expect(seen).toEqual([
      { method: 'GET', url: '/v1/namespaces', authorization: 'Bearer t0ken' },
      {
        method: 'POST',
        url: '/v1/namespaces/eth/tables',
        authorization: 'Bearer t0ken',
        body: {
          name: 'blocks',
          schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'n', required: true, type: 'long' }] },
          'partition-spec': { 'spec-id': 0, fields: [{ 'source-id': 1, name: 'n_bucket', transform: 'truncate[10]' }] },
          'write-order': { 'order-id': 0, fields: [] },
          properties: {},
        },
      },
      { method: 'DELETE', url: '/v1/namespaces/eth/tables/blocks?purgeRequested=true', authorization: 'Bearer t0ken' },
    ]);
  });

  it("throws errors that carry the server's status, type and message", async () => {
    const { uri } = await scriptedServer([
      error(409, 'CommitFailedException', 'requirement assert-ref-snapshot-id failed: ref main is at snapshot 5, expected 4'),
      error(404, 'NoSuchTableException', 'table "eth.nope" does not exist'),
      { status: 502, text: 'bad gateway from the proxy' },
    ]);
    const client = new RestCatalogClient({ uri });
    const conflict = await client.commitTable('eth', 'blocks', { requirements: [], updates: [] }).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(RestCommitConflictError);
    expect(conflict).toMatchObject({
      status: 409,
      type: 'CommitFailedException',
      message: 'POST /v1/namespaces/eth/tables/blocks: 409 CommitFailedException: requirement assert-ref-snapshot-id failed: ref main is at snapshot 5, expected 4',
    });
    await expect(client.loadTable('eth', 'nope')).rejects.toMatchObject({ status: 404, type: 'NoSuchTableException', serverMessage: 'table "eth.nope" does not exist' });
    await expect(client.loadTable('eth', 'blocks')).rejects.toThrow('GET /v1/namespaces/eth/tables/blocks: 502 HTTP502: bad gateway from the proxy');
  });

  it('says when the catalog cannot be reached', async () => {
    const client = new RestCatalogClient({ uri: `http://127.0.0.1:${await freePort()}` });
    const failure = await client.listTables('eth').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RestCatalogError);
    expect(failure).toMatchObject({ status: 0, message: expect.stringMatching(/^GET \/v1\/namespaces\/eth\/tables: catalog at http:\/\/127\.0\.0\.1:\d+ unreachable: .*ECONNREFUSED/) });
  });

  it('ensureNamespace and ensureTable accept what already exists', async () => {
    const { uri, seen } = await scriptedServer([
      error(409, 'AlreadyExistsException', 'namespace "eth" already exists'),
      error(404, 'NoSuchTableException', 'no'),
      error(409, 'AlreadyExistsException', 'created meanwhile'),
      loaded,
    ]);
    const client = new RestCatalogClient({ uri });
    await client.ensureNamespace('eth');
    expect(await client.ensureTable('eth', 'blocks', { schema: { type: 'struct', 'schema-id': 0, fields: [] } })).toMatchObject({ metadata });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /v1/namespaces',
      'GET /v1/namespaces/eth/tables/blocks',
      'POST /v1/namespaces/eth/tables',
      'GET /v1/namespaces/eth/tables/blocks',
    ]);
  });

  it('commitWithRetry rebuilds the commit from a fresh load after each conflict', async () => {
    const conflict = error(409, 'CommitFailedException', 'moved on');
    const committed: Answer = { status: 200, body: { 'metadata-location': 'file:///w/v4.metadata.json', metadata } };
    const { uri } = await scriptedServer([loaded, conflict, loaded, conflict, loaded, committed]);
    const client = new RestCatalogClient({ uri });
    const refused: number[] = [];
    const result = await client.commitWithRetry('eth', 'blocks', (_table, attempt) => ({ requirements: [], updates: [], attempt }), {
      onConflict: (commit) => void refused.push(commit.attempt),
    });
    expect(result).toEqual({ metadataLocation: 'file:///w/v4.metadata.json', metadata, attempts: 3 });
    expect(refused).toEqual([1, 2]);

    const { uri: stubborn } = await scriptedServer([loaded, conflict, loaded, conflict]);
    await expect(new RestCatalogClient({ uri: stubborn }).commitWithRetry('eth', 'blocks', () => ({ requirements: [], updates: [] }), { maxAttempts: 2 })).rejects.toBeInstanceOf(
      RestCommitConflictError,
    );
  });
});
