import { timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Metrics } from '@chainlake/service';
import { humanApiRoutes } from './api-routes.js';
import type { Catalog } from './catalog.js';
import { badRequest, CatalogError, unauthorized } from './errors.js';
import { restCatalogRoutes } from './rest-routes.js';

export interface CatalogHttpOptions {
  catalog: Catalog;
  /** Empty: no authentication. */
  authToken: string;
  log: Logger;
  metrics: Metrics;
}

/**
 * Mounts the Iceberg REST catalog at /v1 and the human API at /api (both behind the optional bearer token,
 * both answering errors in the REST catalog's error model), and the OpenAPI description at /openapi.json.
 * /healthz, /readyz, /metrics and /openapi.json stay open.
 */
export async function registerCatalogHttp(http: FastifyInstance, options: CatalogHttpOptions): Promise<void> {
  const { catalog, log, metrics } = options;
  const rejected = metrics.counter('rejected_requests_total', 'Requests refused (4xx), or failing on a missing metadata file (500), by reason', ['reason']);

  await http.register(swagger, {
    openapi: {
      info: { title: 'chainlake catalog', version: '1', description: 'Tables of the lake. The Iceberg REST catalog under /v1 follows the Iceberg REST OpenAPI.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(options.authToken === '' ? {} : { security: [{ bearer: [] }] }),
    },
  });
  http.get('/openapi.json', { schema: { hide: true } }, async () => http.swagger());

  const answerError = (err: FastifyError | CatalogError, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    let error: CatalogError;
    if (err instanceof CatalogError) error = err;
    else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) error = badRequest(`malformed request: ${err.message}`);
    else {
      log.error({ err, method: req.method, url: req.url }, 'request failed');
      return reply.code(500).send({ error: { message: err.message, type: 'InternalServerError', code: 500 } });
    }
    rejected.inc({ reason: error.reason });
    if (error.status === 401) reply.header('www-authenticate', 'Bearer');
    return reply.code(error.status).send(error.toBody());
  };

  const expected = Buffer.from(`Bearer ${options.authToken}`);
  const guarded = (routes: (app: FastifyInstance) => void) => async (app: FastifyInstance) => {
    if (options.authToken !== '') {
      app.addHook('onRequest', async (req) => {
        const given = Buffer.from(req.headers.authorization ?? '');
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized();
      });
    }
    app.setErrorHandler(answerError);
    app.setNotFoundHandler((req, reply) =>
      answerError(new CatalogError(404, 'NotFoundException', `no route ${req.method} ${req.url}`, 'not_found'), req, reply),
    );
    routes(app);
  };

  await http.register(guarded((app) => restCatalogRoutes(app, catalog)), { prefix: '/v1' });
  await http.register(guarded((app) => humanApiRoutes(app, catalog)), { prefix: '/api' });
}
