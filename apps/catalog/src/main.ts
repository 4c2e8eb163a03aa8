import { ensureStreams, joinBus } from '@chainlake/bus';
import { joinPostgres } from '@chainlake/postgres';
import { runService } from '@chainlake/service';
import { CommitAnnouncer } from './announcer.js';
import { Catalog } from './catalog.js';
import { catalogConfigShape } from './config.js';
import { startCatalogFlight } from './flight.js';
import { registerCatalogHttp } from './http.js';
import { LakeTables } from './lake-tables.js';
import { CatalogStore } from './store.js';
import { CatalogWarehouse } from './warehouse.js';

// The catalog: the Iceberg REST catalog (PostgreSQL holds the metadata pointers), commit announcements on
// NATS, the human API, and the lake over Flight.
await runService({
  name: 'catalog',
  configShape: catalogConfigShape,
  httpPortDefault: 8086,
  async start(ctx) {
    const { config, log, metrics } = ctx;
    const bus = await joinBus(ctx);
    await ensureStreams(bus);
    const pool = await joinPostgres(ctx);
    const store = await CatalogStore.open(pool);
    const announcer = new CommitAnnouncer(bus, store, log, metrics, config.CHAINLAKE_CATALOG_ANNOUNCE_RETRY_MS);
    announcer.start();
    ctx.onShutdown(() => announcer.stop());
    const warehouse = new CatalogWarehouse(config.CHAINLAKE_WAREHOUSE);
    const catalog = new Catalog(store, warehouse, bus.subjects, announcer, metrics);
    await registerCatalogHttp(ctx.http, { catalog, authToken: config.CHAINLAKE_AUTH_TOKEN, log, metrics });
    const hotTier = { pool, schema: config.CHAINLAKE_POSTGRES_SCHEMA };
    await startCatalogFlight(ctx, new LakeTables(catalog, warehouse.fileIO(), hotTier, metrics), bus);
  },
});
