import { describe, expect, it } from 'vitest';
import { CommitMessage, MessageError, type Commit } from '../src/index.js';

const commit: Commit = {
  v: 1,
  namespace: 'synthetic',
  table: 'transactions',
  snapshotId: 4_611_686_018_427_387,
  sequenceNumber: 3,
  operation: 'append',
  summary: { operation: 'append', 'added-data-files': '1', 'added-records': '100' },
  metadataLocation: 'file:///data/warehouse/synthetic/transactions/metadata/v4.metadata.json',
  at: '2024-05-01T00:00:00.000Z',
};

describe('CommitMessage', () => {
  it('round-trips a commit announcement', () => {
    expect(CommitMessage.decode(CommitMessage.encode(commit))).toEqual(commit);
  });

  it('names what is wrong in an invalid one', () => {
    const bad = new TextEncoder().encode(JSON.stringify({ ...commit, operation: 'merge', table: 'a.b' }));
    expect(() => CommitMessage.decode(bad)).toThrow(MessageError);
    expect(() => CommitMessage.decode(bad)).toThrow(/table: expected \[A-Za-z0-9_-\]\+.*operation/);
  });
});
