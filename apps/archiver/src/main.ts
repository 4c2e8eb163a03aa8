import { runService } from '@chainlake/service';
import { archiverConfigShape } from './config.js';
import { startArchiver } from './archiver.js';

await runService({ name: 'archiver', configShape: archiverConfigShape, httpPortDefault: 8083, start: startArchiver });
