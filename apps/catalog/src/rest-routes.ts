import type { FastifyInstance } from 'fastify';
import type { Catalog } from './catalog.js';
import { namespaceFromLevels } from './names.js';
import {
  CommitTableRequest,
  CommitTransactionRequest,
  CreateNamespaceRequest,
  CreateTableRequest,
  parseBody,
  RenameTableRequest,
  toCommitBody,
  UpdateNamespacePropertiesRequest,
} from './requests.js';

type NamespaceParams = { Params: { namespace: string } };
type TableParams = { Params: { namespace: string; table: string } };

/** The endpoints /v1/config advertises: those of the REST spec this catalog serves (no `{prefix}` in use). */
export const REST_ENDPOINTS = [
  'GET /v1/{prefix}/namespaces',
  'POST /v1/{prefix}/namespaces',
  'GET /v1/{prefix}/namespaces/{namespace}',
  'HEAD /v1/{prefix}/namespaces/{namespace}',
  'DELETE /v1/{prefix}/namespaces/{namespace}',
  'POST /v1/{prefix}/namespaces/{namespace}/properties',
  'GET /v1/{prefix}/namespaces/{namespace}/tables',
  'POST /v1/{prefix}/namespaces/{namespace}/tables',
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/tables/rename',
  'POST /v1/{prefix}/transactions/commit',
];

const doc = (summary: string) => ({ schema: { tags: ['Iceberg REST catalog'], summary }, exposeHeadRoute: false });

/**
 * The Iceberg REST catalog (open-api/rest-catalog-open-api.yaml of the Iceberg project), mounted under /v1.
 * Bodies are validated by zod in requests.ts; path names by names.ts inside the catalog.
 */
export function restCatalogRoutes(app: FastifyInstance, catalog: Catalog): void {
  app.get('/config', doc('Catalog configuration'), async () => ({ defaults: {}, overrides: {}, endpoints: REST_ENDPOINTS }));

  app.get<{ Querystring: { parent?: string } }>('/namespaces', doc('List namespaces'), async (req) => {
    const parent = req.query.parent === '' ? undefined : req.query.parent;
    return { namespaces: await catalog.listNamespaces(parent) };
  });

  app.post('/namespaces', doc('Create a namespace'), async (req) => {
    const body = parseBody(CreateNamespaceRequest, req.body, 'CreateNamespaceRequest');
    return catalog.createNamespace(namespaceFromLevels(body.namespace), body.properties);
  });

  app.get<NamespaceParams>('/namespaces/:namespace', doc('Load a namespace'), async (req) => catalog.loadNamespace(req.params.namespace));

  app.head<NamespaceParams>('/namespaces/:namespace', doc('Check that a namespace exists'), async (req, reply) => {
    await catalog.loadNamespace(req.params.namespace);
    return reply.code(204).send();
  });

  app.delete<NamespaceParams>('/namespaces/:namespace', doc('Drop an empty namespace'), async (req, reply) => {
    await catalog.dropNamespace(req.params.namespace);
    return reply.code(204).send();
  });

  app.post<NamespaceParams>('/namespaces/:namespace/properties', doc('Set or remove namespace properties'), async (req) => {
    const body = parseBody(UpdateNamespacePropertiesRequest, req.body, 'UpdateNamespacePropertiesRequest');
    return catalog.updateNamespaceProperties(req.params.namespace, body);
  });

  app.get<NamespaceParams>('/namespaces/:namespace/tables', doc('List tables'), async (req) => ({
    identifiers: await catalog.listTables(req.params.namespace),
  }));

  app.post<NamespaceParams>('/namespaces/:namespace/tables', doc('Create a table (metadata v1)'), async (req) => {
    const body = parseBody(CreateTableRequest, req.body, 'CreateTableRequest');
    return catalog.createTable(req.params.namespace, body);
  });

  app.get<TableParams>('/namespaces/:namespace/tables/:table', doc('Load a table'), async (req) => catalog.loadTable(req.params.namespace, req.params.table));

  app.head<TableParams>('/namespaces/:namespace/tables/:table', doc('Check that a table exists'), async (req, reply) => {
    await catalog.tableExists(req.params.namespace, req.params.table);
    return reply.code(204).send();
  });

  app.post<TableParams>('/namespaces/:namespace/tables/:table', doc('Commit requirements and updates to a table'), async (req) => {
    const body = parseBody(CommitTableRequest, req.body, 'CommitTableRequest');
    return catalog.commitTable(req.params.namespace, req.params.table, toCommitBody(body));
  });

  app.delete<TableParams & { Querystring: { purgeRequested?: string } }>(
    '/namespaces/:namespace/tables/:table',
    doc('Drop a table; purgeRequested=true also deletes its files'),
    async (req, reply) => {
      await catalog.dropTable(req.params.namespace, req.params.table, req.query.purgeRequested === 'true');
      return reply.code(204).send();
    },
  );

  app.post('/tables/rename', doc('Rename a table'), async (req, reply) => {
    const body = parseBody(RenameTableRequest, req.body, 'RenameTableRequest');
    await catalog.renameTable(
      { namespace: namespaceFromLevels(body.source.namespace), name: body.source.name },
      { namespace: namespaceFromLevels(body.destination.namespace), name: body.destination.name },
    );
    return reply.code(204).send();
  });

  app.post('/transactions/commit', doc('Commit to several tables atomically'), async (req, reply) => {
    const body = parseBody(CommitTransactionRequest, req.body, 'CommitTransactionRequest');
    await catalog.commitTransaction(
      body['table-changes'].map((change) => ({
        namespace: namespaceFromLevels(change.identifier.namespace),
        name: change.identifier.name,
        body: toCommitBody(change),
      })),
    );
    return reply.code(204).send();
  });
}
