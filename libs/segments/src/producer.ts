import type { Bus } from '@chainlake/bus';
import { SlabArena } from '@chainlake/arena';
import { FlightServer } from '@chainlake/flight';
import { env } from '@chainlake/service';
import { Spool } from '@chainlake/spool';
import { spoolFlightHandlers } from './serve.js';
import { startSpoolReaper } from './reaper.js';

const MB = 1024 * 1024;

/** The environment variables of a segment producer (source, transformer), with its defaults. */
export const producerConfigShape = (service: string, flightPort: number) => ({
  CHAINLAKE_FLIGHT_PORT: env.int(flightPort, { min: 0, max: 65535 }),
  CHAINLAKE_SPOOL_DIR: env.string(`./data/spool/${service}`),
  CHAINLAKE_SPOOL_MEMORY_MB: env.int(256, { min: 1 }),
  CHAINLAKE_SPOOL_MAX_MB: env.int(2048, { min: 1 }),
});

export interface ProducerHost {
  name: string;
  config: {
    CHAINLAKE_HOST: string; CHAINLAKE_ADVERTISE_HOST: string; CHAINLAKE_FLIGHT_PORT: number;
    CHAINLAKE_SPOOL_DIR: string; CHAINLAKE_SPOOL_MEMORY_MB: number; CHAINLAKE_SPOOL_MAX_MB: number;
  };
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  metrics: { counter(name: string, help: string, labelNames?: string[]): { inc(labels: Record<string, string>): void } };
  onShutdown(fn: () => Promise<void> | void): void;
  readiness(name: string, check: () => boolean): void;
}

/**
 * What every segment producer runs: a spool, a Flight server serving it, and a reaper freeing
 * segments once every consumer of `stream`/`subject` has acked their announcements.
 */
export async function startProducer(host: ProducerHost, bus: Bus, stream: string, subject: string): Promise<{ spool: Spool; flight: FlightServer }> {
  const { config, log } = host;
  const spool = await Spool.open({
    dir: config.CHAINLAKE_SPOOL_DIR,
    memoryBytes: config.CHAINLAKE_SPOOL_MEMORY_MB * MB,
    maxBytes: config.CHAINLAKE_SPOOL_MAX_MB * MB,
    // 1 MiB slabs: a segment's small datasets share one; a column larger than that gets a block of its own.
    // A quarter more than the memory tier holds is room for the slabs' unused ends (~20% measured).
    arena: new SlabArena({ maxBytes: Math.ceil(config.CHAINLAKE_SPOOL_MEMORY_MB * 1.25) * MB, slabBytes: MB }),
  });
  host.onShutdown(() => spool.close());

  const rejected = host.metrics.counter('flight_rejected_tickets_total', 'DoGet tickets refused (malformed, or naming a segment not held)', ['code']);
  const flight = new FlightServer(spoolFlightHandlers(spool, host.name, (err) => rejected.inc({ code: err.code })), {
    host: config.CHAINLAKE_HOST,
    advertiseHost: config.CHAINLAKE_ADVERTISE_HOST,
    port: config.CHAINLAKE_FLIGHT_PORT,
    onError: (rpc, err) => log.warn({ rpc, err: String(err) }, 'flight call failed'),
  });
  await flight.start();
  host.onShutdown(() => flight.stop(2000));
  host.readiness('flight', () => flight.serving);
  log.info({ location: flight.location }, 'flight listening');

  const reaper = startSpoolReaper(bus, spool, stream, subject, log);
  host.onShutdown(() => reaper.stop());
  return { spool, flight };
}
