import { connectBus, type Bus, type BusLog } from './connect.js';

/** What joinBus needs of a service (the ServiceContext of @chainlake/service fits). */
export interface BusHost {
  name: string;
  config: { CHAINLAKE_NATS_URL: string; CHAINLAKE_PREFIX: string };
  log: BusLog;
  signal?: AbortSignal;
  onShutdown(fn: () => Promise<void>): void;
  readiness(name: string, check: () => boolean): void;
}

/** The bus as a service uses it: connected from its config, part of /readyz, drained on shutdown. */
export async function joinBus(host: BusHost): Promise<Bus> {
  const bus = await connectBus({
    servers: host.config.CHAINLAKE_NATS_URL,
    prefix: host.config.CHAINLAKE_PREFIX,
    name: host.name,
    log: host.log,
    signal: host.signal,
  });
  host.onShutdown(() => bus.drain());
  host.readiness('nats', () => bus.isConnected());
  return bus;
}
