import { describe, it, expect } from 'vitest';
import { rawDatasetNames, rawSchema, rawTablesFromRpc } from '../src/index.js';
import { addresses, blocks, hashes, receipts } from './fixtures.js';

describe('rawTablesFromRpc', () => {
  it('keeps the node encodings column by column', () => {
    const raw = rawTablesFromRpc(blocks, receipts);
    expect(raw.raw_blocks.schema).toBe(rawSchema('raw_blocks'));
    expect(raw.raw_blocks.get(0)!.toJSON()).toEqual({
      number: '0x10',
      hash: hashes.block16,
      parentHash: hashes.block15,
      timestamp: '0x65920080',
      miner: blocks[0].miner,
      gasUsed: '0x2f9b8',
      gasLimit: '0x1c9c380',
      extraData: '0x6265617665726275696c642e6f7267',
      baseFeePerGas: '0x3b9aca00',
    });
    expect(raw.raw_blocks.get(1)!.baseFeePerGas).toBeNull();
    const tx = raw.raw_transactions.toArray().map((r) => r.toJSON());
    expect(tx.map((t) => [t.to, t.type, t.status, t.gasUsed])).toEqual([
      [addresses.token, '0x2', '0x1', '0xfde8'],
      [null, '0x2', '0x1', '0x1adb0'],
      ['0x2222222222222222222222222222222222222222', '0x0', '0x0', '0x5208'],
      ['0x2222222222222222222222222222222222222222', null, '0x1', '0x5208'],
    ]);
    const topics = raw.raw_logs.getChild('topics')!.toArray().map((list: { toArray(): string[] }) => [...list.toArray()]);
    expect(topics.map((t: string[]) => t.length)).toEqual([4, 0, 1]);
  });

  it('has a schema per raw dataset and names the known ones otherwise', () => {
    expect(rawDatasetNames.map((n) => rawSchema(n).fields.length)).toEqual([9, 15, 7]);
    expect(() => rawSchema('raw_receipts')).toThrow('unknown raw dataset "raw_receipts" (known: raw_blocks, raw_transactions, raw_logs)');
  });

  it('names what is missing or inconsistent in the responses', () => {
    expect(() => rawTablesFromRpc(blocks, [receipts[0]])).toThrow('got receipts for 1 blocks, expected 2');
    expect(() => rawTablesFromRpc(blocks, [receipts[0], []])).toThrow('block 0x11: 0 receipts for 1 transactions');
    expect(() => rawTablesFromRpc([{ ...blocks[1], transactions: [hashes.txPreBerlin] }], [receipts[1]])).toThrow(
      /full transactions/,
    );
    expect(() => rawTablesFromRpc([blocks[1]], [[{ ...receipts[1][0], transactionHash: hashes.tx1559 }]])).toThrow(
      /receipt 0 is for 0xaaaa/,
    );
    const { timestamp: _omitted, ...noTimestamp } = blocks[1];
    expect(() => rawTablesFromRpc([noTimestamp as typeof blocks[1]], [receipts[1]])).toThrow('block 0x11: timestamp is missing');
  });
});
