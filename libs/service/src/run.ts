import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { advertisedHost, commonConfigShape, ConfigError, env, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';

export interface ServiceContext<C> {
  name: string;
  config: C;
  log: Logger;
  metrics: Metrics;
  /** Register extra routes before start() resolves; the server listens after that. */
  http: FastifyInstance;
  /** /readyz answers 200 only while every check returns true. */
  readiness(name: string, check: () => boolean | Promise<boolean>): void;
  /** Hooks run on SIGTERM/SIGINT in reverse registration order. */
  onShutdown(fn: () => Promise<void> | void): void;
  /** Aborted when shutdown begins, for work that should give up early (e.g. connectBus's first connect). */
  signal: AbortSignal;
}

/** The config a service's start() receives: the common variables plus its own shape. */
export type ConfigOf<S extends z.ZodRawShape> = z.infer<z.ZodObject<S & typeof commonConfigShape>>;

export interface ServiceDefinition<S extends z.ZodRawShape> {
  name: string;
  configShape: S;
  /** CHAINLAKE_HTTP_PORT overrides it. */
  httpPortDefault: number;
  start(ctx: ServiceContext<ConfigOf<S>>): Promise<void>;
}

/** A readiness check that neither answers nor fails within this time counts as not ready. */
const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: () => boolean | Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return (await Promise.race([Promise.resolve().then(check), timeout])) === true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

type CommonConfig = z.infer<z.ZodObject<typeof commonConfigShape>> & { CHAINLAKE_HTTP_PORT: number };

function loadOrExit<S extends z.ZodRawShape>(def: ServiceDefinition<S>): unknown {
  try {
    return loadConfig({ ...commonConfigShape, ...def.configShape, CHAINLAKE_HTTP_PORT: env.port(def.httpPortDefault) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger(def.name, 'info').fatal({ variables: err.variables, err: err.message }, `invalid configuration: ${err.message}`);
    process.exit(2);
  }
}

/**
 * Runs a service: config from the environment (exit 2 if bad), JSON logs, HTTP /healthz /readyz /metrics,
 * then `start`; on SIGTERM/SIGINT runs the shutdown hooks and exits 0. Start failures and unhandled rejections
 * exit 1.
 */
export async function runService<S extends z.ZodRawShape>(def: ServiceDefinition<S>): Promise<void> {
  const loaded = loadOrExit(def) as CommonConfig;
  const config: CommonConfig = { ...loaded, CHAINLAKE_ADVERTISE_HOST: advertisedHost(loaded) };
  const log = createLogger(def.name, config.CHAINLAKE_LOG_LEVEL);

  process.on('unhandledRejection', (reason) => {
    log.fatal({ err: reason }, 'unhandled promise rejection; exiting');
    process.exit(1);
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });

  const metrics = createMetrics(def.name);
  const checks = new Map<string, () => boolean | Promise<boolean>>();
  const hooks: (() => Promise<void> | void)[] = [];
  const shutdownController = new AbortController();
  const httpLog: FastifyBaseLogger = log.child({ component: 'http' }, { level: 'warn' });
  const http = Fastify({ loggerInstance: httpLog });

  http.get('/healthz', async () => ({ status: 'ok' }));
  http.get('/readyz', async (_req, reply) => {
    const entries = await Promise.all([...checks].map(async ([name, check]) => [name, await runCheck(check)] as const));
    const results = Object.fromEntries(entries);
    const shuttingDown = shutdownController.signal.aborted;
    const ready = !shuttingDown && entries.every(([, ok]) => ok);
    return reply.code(ready ? 200 : 503).send({ ready, checks: results, ...(shuttingDown ? { shuttingDown } : {}) });
  });
  http.get('/metrics', async (_req, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));

  const shutdown = async (reason: string, exitCode: number): Promise<void> => {
    if (shutdownController.signal.aborted) {
      log.warn({ reason }, 'shutdown already under way; exiting now');
      process.exit(1);
    }
    shutdownController.abort();
    const timeoutMs = config.CHAINLAKE_SHUTDOWN_TIMEOUT_MS;
    log.info({ reason, timeoutMs }, 'shutting down');
    setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    let failed = false;
    for (const hook of [...hooks].reverse()) {
      try {
        await hook();
      } catch (err) {
        failed = true;
        log.error({ err }, 'shutdown hook failed');
      }
    }
    try {
      await http.close();
    } catch (err) {
      failed = true;
      log.error({ err }, 'closing http failed');
    }
    const code = failed ? Math.max(exitCode, 1) : exitCode;
    log.info({ exitCode: code }, 'stopped');
    process.exit(code);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void shutdown(signal, 0));

  log.info('starting');
  try {
    await def.start({
      name: def.name,
      config: config as unknown as ConfigOf<S>,
      log,
      metrics,
      http,
      readiness: (name, check) => {
        if (checks.has(name)) throw new Error(`readiness check "${name}" is already registered`);
        checks.set(name, check);
      },
      onShutdown: (fn) => void hooks.push(fn),
      signal: shutdownController.signal,
    });
    await http.listen({ host: config.CHAINLAKE_HOST, port: config.CHAINLAKE_HTTP_PORT });
  } catch (err) {
    if (shutdownController.signal.aborted) return;
    log.error({ err }, 'start failed');
    await shutdown('start failed', 1);
    return;
  }
  const { port } = http.server.address() as AddressInfo;
  log.info({ host: config.CHAINLAKE_HOST, port }, 'http listening');
}
