import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDefinition } from '@chainlake/aggregation';
import { readDefinitionFile } from '../src/definitions.js';

describe('shipped example definitions', () => {
  it('are all valid', async () => {
    const definitions = await readDefinitionFile(join(import.meta.dirname, '..', 'definitions', 'examples.yaml'));
    expect(definitions.map((d) => parseDefinition(d).name)).toEqual([
      'tx_per_minute', 'top_senders_by_value_hourly', 'logs_by_contract_per_minute', 'fee_percentiles_per_minute',
    ]);
  });
});
