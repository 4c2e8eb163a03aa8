import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { arrowSchema, blocks as blocksDataset, logs as logsDataset, RowError, transactions as txDataset } from '@chainlake/schema';
import { decode, rawSchema, rawTablesFromRpc, type RawTables, type RpcBlock, type RpcReceipt, type RpcTransaction } from '../src/index.js';
import { addresses, blocks, hashes, padded, receipts, transferTopic } from './fixtures.js';

const rows = (table: Table) => table.toArray().map((r) => r.toJSON());
const clone = <T>(value: T): T => structuredClone(value);

function decodeFixtures(mutate?: (b: RpcBlock[], r: RpcReceipt[][]) => void) {
  const b = clone(blocks);
  const r = clone(receipts);
  mutate?.(b, r);
  return decode(rawTablesFromRpc(b, r), 1);
}

function rowError(run: () => unknown): RowError {
  try {
    run();
  } catch (e) {
    if (e instanceof RowError) return e;
    throw e;
  }
  throw new Error('expected a RowError');
}

/** A one-transaction segment whose transaction has the given value. */
function decodeValue(value: string) {
  return decodeFixtures((b, r) => {
    b.length = 1;
    r.length = 1;
    const [tx] = b[0].transactions as Extract<RpcBlock['transactions'][number], object>[];
    b[0].transactions = [{ ...tx, value }];
    r[0] = [r[0][0]];
  });
}

describe('decode', () => {
  it('decodes blocks', () => {
    const typed = decodeFixtures();
    expect(rows(typed.blocks)).toEqual([
      {
        block_number: 16n,
        block_hash: hashes.block16,
        parent_hash: hashes.block15,
        timestamp: Date.parse('2024-01-01T00:00:00Z'),
        author: addresses.miner,
        gas_used: 195000n,
        gas_limit: 30000000n,
        extra_data: '0x6265617665726275696c642e6f7267',
        base_fee_per_gas: '1000000000',
        chain_id: 1n,
      },
      {
        block_number: 17n,
        block_hash: hashes.block17,
        parent_hash: hashes.block16,
        timestamp: Date.parse('2024-01-01T00:00:12Z'),
        author: addresses.miner,
        gas_used: 21000n,
        gas_limit: 30000000n,
        extra_data: '0x',
        base_fee_per_gas: null,
        chain_id: 1n,
      },
    ]);
    expect([...typed.blocks.getChild('timestamp')!.toArray()]).toEqual([1704067200000000n, 1704067212000000n]);
  });

  it('decodes transactions: EIP-1559, contract creation, failed legacy, pre-Berlin without type', () => {
    const [eip1559, creation, failed, preBerlin] = rows(decodeFixtures().transactions);
    expect(eip1559).toEqual({
      block_number: 16n,
      block_timestamp: Date.parse('2024-01-01T00:00:00Z'),
      transaction_index: 0,
      transaction_hash: hashes.tx1559,
      nonce: 42n,
      from_address: addresses.alice,
      to_address: addresses.token,
      value: '100000000000000000000',
      input: '0xa9059cbb',
      gas_limit: 100000n,
      gas_used: 65000n,
      gas_price: '1000000001',
      transaction_type: 2,
      max_priority_fee_per_gas: '1',
      max_fee_per_gas: '2000000000',
      success: true,
      chain_id: 1n,
    });
    expect(creation).toMatchObject({ to_address: null, value: '0', input: '0x6080604052', success: true });
    expect(failed).toMatchObject({
      success: false,
      transaction_type: 0,
      gas_price: '20000000000',
      max_fee_per_gas: null,
      max_priority_fee_per_gas: null,
      value: '1000000000000000000',
    });
    expect(preBerlin).toMatchObject({
      block_number: 17n,
      block_timestamp: Date.parse('2024-01-01T00:00:12Z'),
      transaction_type: 0,
      max_fee_per_gas: null,
      success: true,
    });
  });

  it('decodes logs with 4, 0 and 1 topics', () => {
    const [four, none, one] = rows(decodeFixtures().logs);
    expect(four).toEqual({
      block_number: 16n,
      block_timestamp: Date.parse('2024-01-01T00:00:00Z'),
      transaction_index: 0,
      log_index: 0,
      transaction_hash: hashes.tx1559,
      address: addresses.token,
      topic0: transferTopic,
      topic1: padded(addresses.alice),
      topic2: padded(addresses.bob),
      topic3: `0x${'f'.repeat(64)}`,
      data: '0x',
      chain_id: 1n,
    });
    expect(none).toMatchObject({ log_index: 1, topic0: null, topic1: null, topic2: null, topic3: null });
    expect(none.data).toBe(`0x${'00'.repeat(31)}64`);
    expect(one).toMatchObject({ log_index: 2, transaction_index: 1, topic0: `0x${'9'.repeat(64)}`, topic1: null });
  });

  it('produces exactly the schemas of @chainlake/schema, which survive IPC', () => {
    const typed = decodeFixtures();
    expect(typed.blocks.schema).toBe(arrowSchema(blocksDataset));
    expect(typed.transactions.schema).toBe(arrowSchema(txDataset));
    expect(typed.logs.schema).toBe(arrowSchema(logsDataset));
    const back = tableFromIPC(tableToIPC(typed.transactions));
    expect(back.schema.fields.map((f) => [f.name, String(f.type), f.nullable, Object.fromEntries(f.metadata)])).toEqual(
      arrowSchema(txDataset).fields.map((f) => [f.name, String(f.type), f.nullable, Object.fromEntries(f.metadata)]),
    );
    expect(rows(back)).toEqual(rows(typed.transactions));
  });

  it('lower-cases checksummed addresses and upper-case hex', () => {
    const typed = decodeFixtures((b, r) => {
      b[0].miner = '0xAbCdEF0000000000000000000000000000000000';
      r[0][0].logs[0].topics[0] = transferTopic.toUpperCase().replace('0X', '0x');
    });
    expect(typed.blocks.get(0)!.author).toBe('0xabcdef0000000000000000000000000000000000');
    expect(typed.blocks.get(1)!.author).toBe(addresses.miner);
    expect(typed.logs.get(0)!.topic0).toBe(transferTopic);
  });

  it('decodes values above 2^64 exactly', () => {
    const value = 2n ** 64n + 12345n;
    expect(decodeValue(`0x${value.toString(16)}`).transactions.get(0)!.value).toBe(value.toString());
  });

  it('decodes any uint256 exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), (value) => {
        expect(decodeValue(`0x${value.toString(16)}`).transactions.get(0)!.value).toBe(value.toString());
      }),
      { numRuns: 200 },
    );
    expect(decodeValue(`0x${(2n ** 256n - 1n).toString(16)}`).transactions.get(0)!.value).toBe((2n ** 256n - 1n).toString());
  });

  it('rejects a value above uint256', () => {
    const error = rowError(() => decodeValue(`0x1${'0'.repeat(64)}`));
    expect(error.message).toMatch(/raw_transactions\.value .* row 0: .* exceeds uint256/);
  });

  it('rejects malformed hex quantities with the dataset, column and row', () => {
    const error = rowError(() =>
      decodeFixtures((b) => {
        (b[0].transactions[2] as { value: string }).value = '0xzz';
      }),
    );
    expect(error).toMatchObject({ dataset: 'raw_transactions', column: 'value', row: 2 });
    expect(error.message).toBe('raw_transactions.value (→ value) row 2: malformed hex quantity "0xzz"');
    for (const bad of ['0x', '12', '', '0x1g']) {
      expect(
        rowError(() =>
          decodeFixtures((b) => {
            b[1].gasUsed = bad;
          }),
        ),
      ).toMatchObject({ dataset: 'raw_blocks', column: 'gasUsed', row: 1 });
    }
  });

  it('rejects malformed hex data: bad digit, wrong length, missing prefix', () => {
    expect(
      rowError(() =>
        decodeFixtures((b) => {
          b[1].hash = `0x${'g'.repeat(64)}`;
        }),
      ),
    ).toMatchObject({ dataset: 'raw_blocks', column: 'hash', row: 1 });
    const short = rowError(() =>
      decodeFixtures((b) => {
        (b[0].transactions[1] as { from: string }).from = '0x1234';
      }),
    );
    expect(short).toMatchObject({ column: 'from', row: 1 });
    expect(short.message).toContain('expected 20 bytes');
    expect(
      rowError(() =>
        decodeFixtures((b) => {
          (b[0].transactions[0] as { input: string }).input = '0xabc';
        }),
      ).message,
    ).toContain('whole number of bytes');
    expect(
      rowError(() =>
        decodeFixtures((_b, r) => {
          r[0][1].logs[0].topics = ['0x1234'];
        }),
      ),
    ).toMatchObject({ dataset: 'raw_logs', column: 'topics', row: 2 });
  });

  it('reports the first bad row of a column, whatever its problem and those of later rows', () => {
    const withFrom = (row1: string, row2: string) =>
      rowError(() =>
        decodeFixtures((b) => {
          (b[0].transactions[1] as { from: string }).from = row1;
          (b[0].transactions[2] as { from: string }).from = row2;
        }),
      );
    const badLastDigit = `${addresses.bob.slice(0, -1)}g`;
    expect(withFrom(badLastDigit, '0x12')).toMatchObject({ column: 'from', row: 1, message: expect.stringMatching(/malformed hex "0x2+g"$/) });
    expect(withFrom('0x12', badLastDigit)).toMatchObject({ column: 'from', row: 1, message: expect.stringContaining('expected 20 bytes') });
    const topics = rowError(() =>
      decodeFixtures((_b, r) => {
        r[0][0].logs[0].topics[2] = `${padded(addresses.bob).slice(0, -1)}:`;
        r[0][1].logs[0].topics = [transferTopic, transferTopic, transferTopic, transferTopic, transferTopic];
      }),
    );
    expect(topics).toMatchObject({ dataset: 'raw_logs', column: 'topics', row: 0 });
    expect(topics.message).toMatch(/^raw_logs\.topics \(→ topic2\) row 0: malformed topic/);
    expect(
      rowError(() =>
        decodeFixtures((_b, r) => {
          r[0][1].logs[0].topics = [transferTopic, transferTopic, transferTopic, transferTopic, transferTopic];
        }),
      ).message,
    ).toContain('5 topics, at most 4 exist');
  });

  it('reads quantities with leading zeros', () => {
    const typed = decodeFixtures((b, r) => {
      const tx = b[0].transactions[0] as RpcTransaction;
      tx.nonce = `0x${'0'.repeat(30)}7fffffffffffffff`;
      tx.value = `0x${'0'.repeat(10)}${'f'.repeat(64)}`;
      tx.transactionIndex = '0x0000000000000000';
      r[0][0].status = '0x0001';
    });
    expect(typed.transactions.get(0)!.toJSON()).toMatchObject({
      nonce: 2n ** 63n - 1n,
      value: (2n ** 256n - 1n).toString(),
      transaction_index: 0,
      success: true,
    });
    expect(
      rowError(() =>
        decodeFixtures((b) => {
          (b[0].transactions[0] as { transactionIndex: string }).transactionIndex = '0x0000000080000000';
        }),
      ).message,
    ).toContain('exceeds the Int32 maximum');
  });

  it('accepts 2^63-1 in an Int64 column and rejects 2^63', () => {
    const withNonce = (nonce: string) =>
      decodeFixtures((b) => {
        (b[0].transactions[0] as { nonce: string }).nonce = nonce;
      });
    expect(withNonce('0x7fffffffffffffff').transactions.get(0)!.nonce).toBe(2n ** 63n - 1n);
    const error = rowError(() => withNonce('0x8000000000000000'));
    expect(error).toMatchObject({ dataset: 'raw_transactions', column: 'nonce', row: 0 });
    expect(error.message).toContain('exceeds the Int64 maximum');
    expect(rowError(() => withNonce('0x10000000000000000')).column).toBe('nonce');
  });

  it('rejects an index above Int32', () => {
    expect(
      rowError(() =>
        decodeFixtures((_b, r) => {
          r[0][0].logs[1].logIndex = '0x80000000';
        }),
      ),
    ).toMatchObject({ dataset: 'raw_logs', column: 'logIndex', row: 1 });
  });

  it('rejects a status other than 0x0 / 0x1 and a missing one', () => {
    expect(
      rowError(() =>
        decodeFixtures((_b, r) => {
          r[1][0].status = '0x2';
        }),
      ),
    ).toMatchObject({ column: 'status', row: 3 });
    expect(
      rowError(() =>
        decodeFixtures((_b, r) => {
          delete r[1][0].status;
          r[1][0].root = hashes.block15;
        }),
      ).message,
    ).toContain('pre-Byzantium');
  });

  it('rejects a transaction whose block is not in the segment', () => {
    const raw = rawTablesFromRpc(blocks, receipts);
    const onlyFirstBlock = rawTablesFromRpc([blocks[0]], [receipts[0]]).raw_blocks;
    const error = rowError(() => decode({ ...raw, raw_blocks: onlyFirstBlock }, 1));
    expect(error).toMatchObject({ dataset: 'raw_transactions', column: 'blockNumber', row: 3 });
    expect(error.message).toContain('block 17 is not in raw_blocks');
  });

  it('decodes multi-batch raw tables batch by batch, numbering rows across batches', () => {
    const first = rawTablesFromRpc([blocks[0]], [receipts[0]]);
    const second = rawTablesFromRpc([blocks[1]], [receipts[1]]);
    const concat = (name: keyof RawTables) =>
      new Table(rawSchema(name), [...first[name].batches, ...second[name].batches]);
    const raw: RawTables = { raw_blocks: concat('raw_blocks'), raw_transactions: concat('raw_transactions'), raw_logs: concat('raw_logs') };
    const typed = decode(raw, 1);
    expect(typed.transactions.batches.length).toBe(2);
    expect(rows(typed.transactions)).toEqual(rows(decodeFixtures().transactions));

    const broken = rawTablesFromRpc([blocks[1]], [[{ ...receipts[1][0], gasUsed: '0xq' }]]);
    const error = rowError(() =>
      decode({ ...raw, raw_transactions: new Table(rawSchema('raw_transactions'), [...first.raw_transactions.batches, ...broken.raw_transactions.batches]) }, 1),
    );
    expect(error.row).toBe(3);
  });

  it('decodes empty tables', () => {
    const typed = decode(rawTablesFromRpc([], []), 5);
    expect(typed.blocks.numRows).toBe(0);
    expect(typed.logs.schema).toBe(arrowSchema(logsDataset));
  });

  it('rejects a duplicated block and an invalid chain id', () => {
    expect(rowError(() => decode(rawTablesFromRpc([blocks[0], blocks[0]], [receipts[0], receipts[0]]), 1)).message).toContain(
      'block 16 appears twice',
    );
    expect(() => decode(rawTablesFromRpc(blocks, receipts), 2n ** 63n)).toThrow(RowError);
    expect(() => decode(rawTablesFromRpc(blocks, receipts), 1.5)).toThrow(/chain_id/);
  });

  it('writes the chain id on every row', () => {
    const typed = decode(rawTablesFromRpc(blocks, receipts), 8453n);
    expect([...typed.logs.getChild('chain_id')!.toArray()]).toEqual([8453n, 8453n, 8453n]);
  });
});
