import { runService } from '@chainlake/service';
import { transformerConfigShape } from './config.js';
import { startTransformer } from './transformer.js';

await runService({ name: 'transformer', configShape: transformerConfigShape, httpPortDefault: 8082, start: startTransformer });
