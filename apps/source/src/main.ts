import { runService } from '@chainlake/service';
import { sourceConfigShape } from './config.js';
import { startSource } from './source.js';

await runService({ name: 'source', configShape: sourceConfigShape, httpPortDefault: 8081, start: startSource });
