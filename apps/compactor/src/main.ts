import { joinBus } from '@chainlake/bus';
import { runService } from '@chainlake/service';

// The compactor runs on the service shell (health, readiness, metrics) and joins the bus; its own
// features arrive with their issues.
await runService({
  name: 'compactor',
  configShape: {},
  httpPortDefault: 8085,
  async start(ctx) {
    await joinBus(ctx);
  },
});
