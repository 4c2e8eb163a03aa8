import { runService } from '@chainlake/service';
import { analyticsConfigShape } from './config.js';
import { startAnalytics } from './analytics.js';

await runService({ name: 'analytics', configShape: analyticsConfigShape, httpPortDefault: 8084, start: startAnalytics });
