import { describe, expect, it } from 'vitest';
import { MessageError, StoredMessage, type Stored } from '../src/index.js';

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('StoredMessage', () => {
  it('round-trips hot and cold announcements', () => {
    const hot: Stored = { v: 1, chain: 'synthetic', tier: 'hot', dataset: 'logs', from: 100, to: 104, rows: 812 };
    const cold: Stored = { ...hot, tier: 'cold', files: ['synthetic/logs/data/block_range=0-9999/logs_100_104_0-ab12.parquet'] };
    expect(StoredMessage.decode(StoredMessage.encode(hot))).toEqual(hot);
    expect(StoredMessage.decode(StoredMessage.encode(cold))).toEqual(cold);
  });

  it.each([
    [{ tier: 'warm' }, /tier/],
    [{ from: 9, to: 3 }, /from: must be ≤ to/],
    [{ dataset: 'Logs!' }, /dataset: expected a dataset name/],
    [{ rows: -1 }, /rows/],
    [{ files: [''] }, /files/],
  ])('rejects %j', (change, message) => {
    const bad = { v: 1, chain: 'synthetic', tier: 'hot', dataset: 'logs', from: 1, to: 2, rows: 3, ...change };
    expect(() => StoredMessage.decode(bytes(bad))).toThrow(MessageError);
    expect(() => StoredMessage.decode(bytes(bad))).toThrow(message);
  });
});
