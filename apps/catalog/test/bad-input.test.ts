import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blocksSchema, catalogRows, listFiles, startCatalog, type TestCatalog } from './helpers.js';

/** A request with the path sent exactly as given (fetch would normalise `..` and encodings away). */
function rawRequest(base: string, method: string, path: string, body?: string): Promise<{ status: number; body: { error?: { message: string; type: string; code: number } } }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text === '' ? {} : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('catalog bad input', () => {
  let catalog: TestCatalog;
  let send: (method: string, path: string, body?: unknown) => ReturnType<typeof rawRequest>;

  beforeAll(async () => {
    catalog = await startCatalog('badinput');
    send = (method, path, body) => rawRequest(catalog.base, method, path, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    await catalog.client.createNamespace('eth');
    await catalog.client.createTable('eth', 'blocks', { schema: blocksSchema });
  });
  afterAll(async () => {
    await catalog?.stop();
  });

  const table = '/v1/namespaces/eth/tables/blocks';
  const createTable = '/v1/namespaces/eth/tables';
  const cases: [string, string, string, unknown, number, RegExp][] = [
    ['malformed JSON', 'POST', table, '{"requirements": [', 400, /malformed request: .*JSON/i],
    ['a body that is not an object', 'POST', table, '[]', 400, /invalid CommitTableRequest: \(body\): .*expected object/],
    ['missing updates', 'POST', table, { requirements: [] }, 400, /invalid CommitTableRequest: updates: required/],
    ['unknown requirement type', 'POST', table, { requirements: [{ type: 'assert-everything' }], updates: [] }, 400, /requirements\.0\.type: unknown requirement type "assert-everything" \(expected one of assert-create, /],
    ['unknown update action', 'POST', table, { requirements: [], updates: [{ action: 'drop-everything' }] }, 400, /updates\.0\.action: unknown update action "drop-everything"/],
    ['a malformed snapshot', 'POST', table, { requirements: [], updates: [{ action: 'add-snapshot', snapshot: { 'snapshot-id': 1.5 } }] }, 400, /updates\.0\.snapshot\.snapshot-id: .*expected int/],
    ['a manifest list outside the warehouse', 'POST', table, { requirements: [], updates: [{ action: 'add-snapshot', snapshot: { 'snapshot-id': 1, 'sequence-number': 1, 'timestamp-ms': 0, 'manifest-list': 'file:///etc/passwd', summary: { operation: 'append' } } }] }, 400, /location "file:\/\/\/etc\/passwd" is outside the warehouse/],
    ['set-location outside the warehouse', 'POST', table, { requirements: [], updates: [{ action: 'set-location', location: 'file:///tmp/elsewhere' }] }, 400, /outside the warehouse/],
    ['a namespace ..', 'GET', '/v1/namespaces/../tables', undefined, 400, /invalid namespace name "\.\."/],
    ['a namespace with %2F', 'POST', '/v1/namespaces/..%2F..%2Ftmp/tables', { name: 'x', schema: blocksSchema }, 400, /invalid namespace name "\.\.\/\.\.\/tmp"/],
    ['a namespace with NUL', 'POST', '/v1/namespaces/eth%00/tables', { name: 'x', schema: blocksSchema }, 400, /invalid namespace name "eth\\u0000"/],
    ['a nested namespace', 'POST', '/v1/namespaces/eth%1Fsub/tables', { name: 'x', schema: blocksSchema }, 400, /nested namespaces are not supported/],
    ['a table ..', 'POST', '/v1/namespaces/eth/tables/..', { requirements: [], updates: [] }, 400, /invalid table name "\.\."/],
    ['a table with %2F', 'DELETE', '/v1/namespaces/eth/tables/..%2Fblocks?purgeRequested=true', undefined, 400, /invalid table name "\.\.\/blocks"/],
    ['a table name with /', 'POST', createTable, { name: '../../escape', schema: blocksSchema }, 400, /invalid table name "\.\.\/\.\.\/escape"/],
    ['a table name with NUL', 'POST', createTable, { name: 'blocks\u0000', schema: blocksSchema }, 400, /invalid table name "blocks\\u0000"/],
    ['a look-alike unicode name', 'POST', createTable, { name: 'bl\u043eck', schema: blocksSchema }, 400, /invalid table name/],
    ['a location outside the warehouse', 'POST', createTable, { name: 'escape', schema: blocksSchema, location: '/tmp/escape' }, 400, /outside the warehouse/],
    ['a relative location', 'POST', createTable, { name: 'escape', schema: blocksSchema, location: '../escape' }, 400, /expected a file:\/\/ URI inside the warehouse/],
    ['a namespace of two levels', 'POST', '/v1/namespaces', { namespace: ['a', 'b'] }, 400, /expected exactly one level/],
    ['a namespace named ..', 'POST', '/v1/namespaces', { namespace: ['..'] }, 400, /invalid namespace name "\.\."/],
    ['a nested type', 'POST', createTable, { name: 'nested', schema: { type: 'struct', fields: [{ id: 1, name: 'a', required: true, type: { type: 'list' } }] } }, 400, /schema\.fields\.0\.type: nested types \(list\) are not supported/],
    ['an unknown route', 'GET', '/v1/namespaces/eth/tables/blocks/extra', undefined, 404, /no route GET/],
    ['a path with an extra segment', 'GET', '/v1/namespaces/a/b/tables', undefined, 404, /no route GET/],
  ];

  it.each(cases)('refuses %s (%s %s) and changes nothing', async (_what, method, path, body, status, message) => {
    const rowsBefore = await catalogRows(catalog.pool);
    const filesBefore = await listFiles(catalog.warehouse);
    const answer = await send(method, path, body);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ code: status, type: status === 400 ? 'BadRequestException' : expect.any(String) });
    expect(answer.body.error!.message).toMatch(message);
    expect(await catalogRows(catalog.pool)).toEqual(rowsBefore);
    expect(await listFiles(catalog.warehouse)).toEqual(filesBefore);
  });

  it('never wrote outside the warehouse and counts what it refused', async () => {
    expect(await listFiles(catalog.warehouse)).toEqual(['eth/blocks/metadata/v1.metadata.json', 'eth/blocks/metadata/version-hint.text']);
    for (const outside of ['/tmp/escape', '/tmp/elsewhere', join(catalog.warehouse, '..', 'escape')]) expect(existsSync(outside)).toBe(false);
    const metrics = await (await fetch(`${catalog.base}/metrics`)).text();
    const count = (reason: string) => Number(new RegExp(`^chainlake_catalog_rejected_requests_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(count('invalid_name')).toBe(11);
    expect(count('invalid_body')).toBe(11);
    expect(count('not_found')).toBe(2);
    expect(metrics).toMatch(/^chainlake_catalog_commits_total\{result="invalid"\} 2$/m);
  });
});
