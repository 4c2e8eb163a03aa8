import { describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain } from '@chainlake/chain-synthetic';
import { blockTimestamps } from '../src/archive.js';
import { slicePiece, type Piece } from '../src/hot.js';

const chain = new SyntheticChain({ seed: 5, chainId: 1337, blockTimeMs: 12_000, txsPerBlock: 5, logsPerTx: 1, finalityDepth: 10, genesisTimestampMs: 0, now: () => 1e12 });
const piece: Piece = { from: 100, to: 119, tables: decode(chain.rawSegment(100, 119), 1337) as unknown as Record<string, Table> };

describe('pieces split at the finalized height', () => {
  it('slice every dataset to the block range, zero-copy', () => {
    const hot = slicePiece(piece, 112, 119);
    expect(hot.from).toBe(112);
    for (const [name, table] of Object.entries(hot.tables)) {
      const numbers = Array.from({ length: table.numRows }, (_, i) => Number(table.getChild('block_number')!.get(i)));
      expect(numbers.length, name).toBeGreaterThan(0);
      expect(Math.min(...numbers), name).toBe(112);
      expect(Math.max(...numbers), name).toBe(119);
    }
    expect(slicePiece(piece, 100, 119)).toBe(piece);
  });

  it('keep block timestamps right in a slice (date partitions of a split segment)', () => {
    const all = blockTimestamps(piece.tables.blocks);
    const tail = blockTimestamps(slicePiece(piece, 112, 119).tables.blocks);
    expect([...tail.keys()]).toEqual([112, 113, 114, 115, 116, 117, 118, 119]);
    for (const [block, micros] of tail) expect(micros, `block ${block}`).toBe(all.get(block));
    expect(tail.get(112)).toBe(112n * 12_000_000n);
  });
});
