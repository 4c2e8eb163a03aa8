import { connectBus } from '@chainlake/bus';
import { runService } from '@chainlake/service';

// The catalog runs on the service shell (health, readiness, metrics) and joins the bus; its own
// features arrive with their issues.
await runService({
  name: 'catalog',
  configShape: {},
  httpPortDefault: 8086,
  async start(ctx) {
    const bus = await connectBus({ servers: ctx.config.CHAINLAKE_NATS_URL, prefix: ctx.config.CHAINLAKE_PREFIX, name: 'catalog', log: ctx.log });
    ctx.onShutdown(() => bus.drain());
    ctx.readiness('nats', () => bus.isConnected());
  },
});
