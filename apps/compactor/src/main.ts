import { connectBus } from '@chainlake/bus';
import { runService } from '@chainlake/service';

// The compactor runs on the service shell (health, readiness, metrics) and joins the bus; its own
// features arrive with their issues.
await runService({
  name: 'compactor',
  configShape: {},
  httpPortDefault: 8085,
  async start(ctx) {
    const bus = await connectBus({ servers: ctx.config.CHAINLAKE_NATS_URL, prefix: ctx.config.CHAINLAKE_PREFIX, name: 'compactor', log: ctx.log });
    ctx.onShutdown(() => bus.drain());
    ctx.readiness('nats', () => bus.isConnected());
  },
});
