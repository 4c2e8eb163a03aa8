import { connectBus } from '@chainlake/bus';
import { runService } from '@chainlake/service';

// The analytics runs on the service shell (health, readiness, metrics) and joins the bus; its own
// features arrive with their issues.
await runService({
  name: 'analytics',
  configShape: {},
  httpPortDefault: 8084,
  async start(ctx) {
    const bus = await connectBus({ servers: ctx.config.CHAINLAKE_NATS_URL, prefix: ctx.config.CHAINLAKE_PREFIX, name: 'analytics', log: ctx.log });
    ctx.onShutdown(() => bus.drain());
    ctx.readiness('nats', () => bus.isConnected());
  },
});
