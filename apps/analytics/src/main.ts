import { joinBus } from '@chainlake/bus';
import { runService } from '@chainlake/service';

// The analytics runs on the service shell (health, readiness, metrics) and joins the bus; its own
// features arrive with their issues.
await runService({
  name: 'analytics',
  configShape: {},
  httpPortDefault: 8084,
  async start(ctx) {
    await joinBus(ctx);
  },
});
