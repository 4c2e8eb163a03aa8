import { resolve } from 'node:path';
import type { Bus } from '@chainlake/bus';
import { bearerTokenAuth, FlightServer, type FlightHandlers } from '@chainlake/flight';
import type { ServiceContext } from '@chainlake/service';
import { SqlEngine } from '@chainlake/sql';
import type { CatalogConfig } from './config.js';
import { flightSqlHandlers } from './flight-sql.js';
import { tableScanHandlers } from './flight-scan.js';
import type { LakeTables } from './lake-tables.js';
import { SqlTables } from './sql-tables.js';

/**
 * The catalog's Flight server: Flight SQL (commands in Any, SQL JSON tickets) over DuckDB views of the tables
 * (and `<table>_live`: the table plus its hot tip), and table scans (JSON tickets naming a table) for everything else.
 */
export async function startCatalogFlight(ctx: ServiceContext<CatalogConfig>, tables: LakeTables, bus: Bus): Promise<FlightServer> {
  const { config, log, metrics } = ctx;
  const location = () => server.location;
  const engine = await SqlEngine.open({
    provider: new SqlTables(tables, resolve(config.CHAINLAKE_WAREHOUSE, '.hot-tips')),
    allowedDirectories: [resolve(config.CHAINLAKE_WAREHOUSE)],
    threads: config.CHAINLAKE_SQL_THREADS,
    memoryLimit: config.CHAINLAKE_SQL_MEMORY_LIMIT || undefined,
    maxStalenessMs: config.CHAINLAKE_SQL_MAX_STALENESS_MS,
    onRefreshError: (err, table) => log.warn({ table, err: String(err) }, 'SQL view refresh failed; queries use the previous view'),
  });
  // Every replica's commits, so the views follow the tables without waiting for staleness.
  const commits = bus.nc.subscribe(`${bus.prefix}.catalog.*.*.commits`, {
    callback: (_err, msg) => {
      const [namespace, name] = msg.subject.split('.').slice(-3, -1);
      void engine.refresh(namespace, name).catch((err) => log.warn({ namespace, name, err: String(err) }, 'SQL view refresh failed'));
    },
  });
  const sql = flightSqlHandlers({ engine, metrics, log, location, preparedStatementTtlMs: config.CHAINLAKE_FLIGHT_SQL_STATEMENT_TTL_MS });
  const scan = tableScanHandlers({
    listTables: () => tables.list(),
    resolveTable: (namespace, table, snapshotId, includeHot, where) => tables.resolve(namespace, table, snapshotId, includeHot, where),
    metrics,
    log,
    location,
  });
  const handlers: FlightHandlers = {
    listFlights: scan.listFlights,
    getFlightInfo: (descriptor, call) => (sql.ownsDescriptor(descriptor) ? sql.getFlightInfo(descriptor, call) : scan.getFlightInfo(descriptor, call)),
    getSchema: (descriptor, call) => (sql.ownsDescriptor(descriptor) ? sql.getSchema(descriptor, call) : scan.getSchema(descriptor, call)),
    doGet: (ticket, call) => (sql.ownsTicket(ticket) ? sql.doGet(ticket, call) : scan.doGet(ticket, call)),
    doPut: sql.doPut,
    doAction: sql.doAction,
    listActions: sql.listActions,
  };
  const server = new FlightServer(handlers, {
    host: config.CHAINLAKE_HOST,
    advertiseHost: config.CHAINLAKE_ADVERTISE_HOST,
    port: config.CHAINLAKE_FLIGHT_PORT,
    ...(config.CHAINLAKE_AUTH_TOKEN ? bearerTokenAuth(config.CHAINLAKE_AUTH_TOKEN) : {}),
    onError: (rpc, err) => log.warn({ rpc, err: String(err) }, 'flight call failed'),
  });
  await server.start();
  ctx.onShutdown(async () => {
    await server.stop(2000);
    commits.unsubscribe();
    sql.close();
    engine.close();
  });
  ctx.readiness('flight', () => server.serving);
  log.info({ location: server.location }, 'flight listening');
  return server;
}
