import { DefinitionError } from '@chainlake/aggregation';
import {
  DefineRequest, DefinitionReply, DropRequest, ensureStreams, joinBus, keyValue, serveRequests, WindowResultMessage, type Bus,
} from '@chainlake/bus';
import { FlightServer } from '@chainlake/flight';
import type { ServiceContext } from '@chainlake/service';
import type { Subscription } from '@nats-io/transport-node';
import { Computation } from './computation.js';
import type { AnalyticsConfig } from './config.js';
import { DefinitionRegistry, readDefinitionFile } from './definitions.js';
import { resultsFlightHandlers } from './flight.js';
import { Lease } from './lease.js';
import { LatestResults } from './results.js';

/** While standing by, a replica keeps the results the leader publishes, so that HTTP and Flight answer the same everywhere. */
function mirrorResults(bus: Bus, latest: LatestResults): Subscription {
  return bus.nc.subscribe(`${bus.prefix}.analytics.*`, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const { v: _v, ...result } = WindowResultMessage.decode(msg.data);
        latest.record(result);
      } catch {
        // Not a window result: nothing to mirror.
      }
    },
  });
}

export async function startAnalytics(ctx: ServiceContext<AnalyticsConfig>): Promise<void> {
  const { config, log, metrics } = ctx;
  const rejectedDefinitions = metrics.counter('definitions_rejected_total', 'Definitions refused as invalid');
  const leading = metrics.gauge('leader', '1 while this replica holds the lease and computes, 0 while it stands by');

  const bus = await joinBus(ctx);
  await ensureStreams(bus);
  const latest = new LatestResults();
  let computation: Computation | undefined;

  const registry = new DefinitionRegistry(
    await keyValue(bus, 'analytics_definitions'),
    async (name, definition) => {
      if (!definition) latest.forget(name);
      await computation?.define(name, definition);
    },
    log,
  );
  await registry.follow(ctx.signal);

  const define = async (input: unknown): Promise<{ ok: true; name: string } | { ok: false; error: string }> => {
    try {
      return { ok: true, name: (await registry.define(input)).name };
    } catch (err) {
      if (!(err instanceof DefinitionError)) throw err;
      rejectedDefinitions.inc();
      return { ok: false, error: err.message };
    }
  };
  if (config.CHAINLAKE_ANALYTICS_DEFINITIONS) {
    for (const input of await readDefinitionFile(config.CHAINLAKE_ANALYTICS_DEFINITIONS)) {
      const outcome = await define(input);
      if (!outcome.ok) log.error({ file: config.CHAINLAKE_ANALYTICS_DEFINITIONS, err: outcome.error }, 'definition in file refused; the others go on');
    }
  }

  const servers = [
    serveRequests(bus, bus.subjects.control('analytics', 'define'), {
      queue: 'analytics', request: DefineRequest, reply: DefinitionReply,
      errorReply: (error) => ({ v: 1, ok: false, error }),
      handler: async (req) => ({ v: 1, ...(await define(req.definition)) }),
    }),
    serveRequests(bus, bus.subjects.control('analytics', 'drop'), {
      queue: 'analytics', request: DropRequest, reply: DefinitionReply,
      errorReply: (error) => ({ v: 1, ok: false, error }),
      handler: async (req) =>
        (await registry.drop(req.name)) ? { v: 1, ok: true, name: req.name } : { v: 1, ok: false, error: `no definition named "${req.name}"` },
    }),
  ];
  for (const s of servers) ctx.onShutdown(() => s.stop());

  ctx.http.get('/definitions', async () => registry.list());
  ctx.http.post('/definitions', async (req, reply) => {
    const outcome = await define(req.body);
    return outcome.ok ? reply.code(201).send(outcome) : reply.code(400).send(outcome);
  });
  ctx.http.delete<{ Params: { name: string } }>('/definitions/:name', async (req, reply) =>
    (await registry.drop(req.params.name)) ? reply.code(204).send() : reply.code(404).send({ error: `no definition named "${req.params.name}"` }),
  );
  ctx.http.get<{ Params: { name: string } }>('/results/:name', async (req, reply) => {
    const { name } = req.params;
    if (!registry.get(name)) return reply.code(404).send({ error: `no definition named "${name}"` });
    // A standby has no open windows: only the leader computes them.
    return { definition: name, results: latest.of(name), open: computation?.engine(name)?.current() ?? [], leader: computation !== undefined };
  });

  const flight = new FlightServer(resultsFlightHandlers((name) => (registry.get(name) ? latest.of(name) : undefined)), {
    host: config.CHAINLAKE_HOST,
    advertiseHost: config.CHAINLAKE_ADVERTISE_HOST,
    port: config.CHAINLAKE_FLIGHT_PORT,
    onError: (rpc, err) => log.warn({ rpc, err: String(err) }, 'flight call failed'),
  });
  await flight.start();
  ctx.onShutdown(() => flight.stop(2000));
  ctx.readiness('flight', () => flight.serving);
  log.info({ location: flight.location }, 'flight listening');

  // One replica computes at a time: the holder of the lease. The others stand by and take over when it lapses.
  const lease = new Lease(await keyValue(bus, 'checkpoints'), 'analytics.leader', config.CHAINLAKE_ANALYTICS_LEASE_MS, log);
  ctx.readiness('consumer', () => computation === undefined || computation.running);
  let mirror: Subscription | undefined = mirrorResults(bus, latest);
  log.info({ holder: lease.holder }, 'standing by');
  const shutdown = new Promise<undefined>((resolve) => {
    if (ctx.signal.aborted) resolve(undefined);
    else ctx.signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
  const leadership = (async () => {
    while (await lease.acquire(ctx.signal)) {
      mirror?.unsubscribe();
      mirror = undefined;
      const c = new Computation({ bus, config, log, metrics, latest, mayWrite: () => lease.held });
      computation = c;
      let reason: string | undefined;
      try {
        await c.start(() => registry.list());
        leading.set(1);
        log.info({ holder: lease.holder }, 'leading: computing the definitions');
        reason = await Promise.race([lease.lost, shutdown]);
        if (reason === undefined) return;
        log.error({ reason }, 'lease lost: handing the work over without writing anything more');
      } catch (err) {
        if (ctx.signal.aborted) return;
        log.error({ err: String(err) }, 'could not start computing; giving the lease up');
        await lease.release();
      }
      computation = undefined;
      leading.set(0);
      await c.stop({ save: false });
      mirror = mirrorResults(bus, latest);
      log.info({ holder: lease.holder }, 'standing by');
    }
  })();
  leadership.catch((err) => log.fatal({ err: String(err) }, 'leadership loop failed'));
  ctx.onShutdown(async () => {
    await leadership.catch(() => undefined);
    mirror?.unsubscribe();
    if (computation) await computation.stop({ save: true });
    await lease.release();
  });
}
