import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestCatalogClient } from '@chainlake/iceberg';
import { catalogRows, json, startCatalog, type TestCatalog } from './helpers.js';

describe('catalog bearer-token auth', () => {
  let catalog: TestCatalog;

  beforeAll(async () => {
    catalog = await startCatalog('auth', { CHAINLAKE_AUTH_TOKEN: 's3cret-token' });
  });
  afterAll(async () => {
    await catalog?.stop();
  });

  it('answers 401 in the error model to /v1 and /api requests without the right token, and writes nothing', async () => {
    const before = await catalogRows(catalog.pool);
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: 's3cret-token' }, { authorization: 'Bearer s3cret-toke' }]) {
      for (const path of ['/v1/config', '/v1/namespaces', '/api/tables', '/v1/namespaces/eth/tables/blocks', '/v1/no/such/route']) {
        const answer = await json(await fetch(`${catalog.base}${path}`, { headers }));
        expect(answer, `${path} with ${JSON.stringify(headers)}`).toEqual({
          status: 401,
          body: { error: { message: expect.stringMatching(/bearer token/), type: 'NotAuthorizedException', code: 401 } },
        });
      }
    }
    const create = await fetch(`${catalog.base}/v1/namespaces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: ['eth'] }),
    });
    expect(create.status).toBe(401);
    expect(create.headers.get('www-authenticate')).toBe('Bearer');
    expect(await catalogRows(catalog.pool)).toEqual(before);
    await expect(new RestCatalogClient({ uri: catalog.base }).listNamespaces()).rejects.toThrow(/GET \/v1\/namespaces: 401 NotAuthorizedException/);
  });

  it('serves a client that sends the token', async () => {
    await catalog.client.createNamespace('eth');
    expect(await catalog.client.listNamespaces()).toEqual(['eth']);
    expect((await fetch(`${catalog.base}/api/tables`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
  });

  it('keeps health, readiness, metrics and the OpenAPI description open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect((await fetch(`${catalog.base}${path}`)).status, path).toBe(200);
    const metrics = await (await fetch(`${catalog.base}/metrics`)).text();
    expect(metrics).toMatch(/^chainlake_catalog_rejected_requests_total\{reason="unauthorized"\} 22$/m);
  });
});
