import { joinBus } from '@chainlake/bus';
import { runService } from '@chainlake/service';

// The catalog runs on the service shell (health, readiness, metrics) and joins the bus; its own
// features arrive with their issues.
await runService({
  name: 'catalog',
  configShape: {},
  httpPortDefault: 8086,
  async start(ctx) {
    await joinBus(ctx);
  },
});
