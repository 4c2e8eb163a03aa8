import { bearerTokenAuth, FlightServer, type FlightHandlers } from '@chainlake/flight';
import type { ServiceContext } from '@chainlake/service';
import type { CatalogConfig } from './config.js';
import { tableScanHandlers } from './flight-scan.js';
import type { LakeTables } from './lake-tables.js';

/** The catalog's Flight server: table scans (JSON tickets naming a table). */
export async function startCatalogFlight(ctx: ServiceContext<CatalogConfig>, tables: LakeTables): Promise<FlightServer> {
  const { config, log, metrics } = ctx;
  const location = () => server.location;
  const handlers: FlightHandlers = tableScanHandlers({
    listTables: () => tables.list(),
    resolveTable: (namespace, table, snapshotId) => tables.resolve(namespace, table, snapshotId),
    metrics,
    log,
    location,
  });
  const server = new FlightServer(handlers, {
    host: config.CHAINLAKE_HOST,
    advertiseHost: config.CHAINLAKE_ADVERTISE_HOST,
    port: config.CHAINLAKE_FLIGHT_PORT,
    ...(config.CHAINLAKE_AUTH_TOKEN ? bearerTokenAuth(config.CHAINLAKE_AUTH_TOKEN) : {}),
    onError: (rpc, err) => log.warn({ rpc, err: String(err) }, 'flight call failed'),
  });
  await server.start();
  ctx.onShutdown(() => server.stop(2000));
  ctx.readiness('flight', () => server.serving);
  log.info({ location: server.location }, 'flight listening');
  return server;
}
