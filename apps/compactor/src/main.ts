import { runService } from '@chainlake/service';
import { startCompactor } from './compactor.js';
import { compactorConfigShape } from './config.js';

await runService({ name: 'compactor', configShape: compactorConfigShape, httpPortDefault: 8085, start: startCompactor });
