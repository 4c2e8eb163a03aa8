import { describe, it, expect } from 'vitest';
import { Bool, Int32, Int64, TimestampMicrosecond, TimeUnit, Utf8 } from 'apache-arrow';
import {
  arrowSchema,
  blocks,
  dataset,
  evmDatasets,
  icebergSchema,
  logs,
  transactions,
  FIELD_ID_KEY,
  LOGICAL_TYPE_KEY,
} from '../src/index.js';

describe('datasets', () => {
  it('lists the EVM datasets in order', () => {
    expect(evmDatasets.map((d) => d.name)).toEqual(['blocks', 'transactions', 'logs']);
  });

  it('finds a dataset by name and names the known ones otherwise', () => {
    expect(dataset('logs')).toBe(logs);
    expect(() => dataset('receipts')).toThrow('unknown dataset "receipts" (known: blocks, transactions, logs)');
  });

  // Field ids are column identities in Parquet and Iceberg files already written: this pins them.
  it('keeps field ids and column order stable', () => {
    const ids = (d: typeof blocks) => d.columns.map((c) => `${c.fieldId}:${c.name}`);
    expect(ids(blocks)).toEqual([
      '1:block_number', '2:block_hash', '3:parent_hash', '4:timestamp', '5:author', '6:gas_used',
      '7:gas_limit', '8:extra_data', '9:base_fee_per_gas', '10:chain_id',
    ]);
    expect(ids(transactions)).toEqual([
      '1:block_number', '2:block_timestamp', '3:transaction_index', '4:transaction_hash', '5:nonce',
      '6:from_address', '7:to_address', '8:value', '9:input', '10:gas_limit', '11:gas_used', '12:gas_price',
      '13:transaction_type', '14:max_priority_fee_per_gas', '15:max_fee_per_gas', '16:success', '17:chain_id',
    ]);
    expect(ids(logs)).toEqual([
      '1:block_number', '2:block_timestamp', '3:transaction_index', '4:log_index', '5:transaction_hash',
      '6:address', '7:topic0', '8:topic1', '9:topic2', '10:topic3', '11:data', '12:chain_id',
    ]);
  });

  it('has unique field ids and names per dataset', () => {
    for (const d of evmDatasets) {
      expect(new Set(d.columns.map((c) => c.fieldId)).size).toBe(d.columns.length);
      expect(new Set(d.columns.map((c) => c.name)).size).toBe(d.columns.length);
    }
  });

  it('makes only the documented columns nullable', () => {
    const nullable = (d: typeof blocks) => d.columns.filter((c) => c.nullable).map((c) => c.name);
    expect(nullable(blocks)).toEqual(['base_fee_per_gas']);
    expect(nullable(transactions)).toEqual(['to_address', 'max_priority_fee_per_gas', 'max_fee_per_gas']);
    expect(nullable(logs)).toEqual(['topic0', 'topic1', 'topic2', 'topic3']);
  });

  it('declares sort keys and time columns', () => {
    expect(blocks.sortKey).toEqual(['block_number']);
    expect(transactions.sortKey).toEqual(['block_number', 'transaction_index']);
    expect(logs.sortKey).toEqual(['block_number', 'log_index']);
    expect([blocks, transactions, logs].map((d) => d.timestampColumn)).toEqual([
      'timestamp', 'block_timestamp', 'block_timestamp',
    ]);
  });
});

describe('arrowSchema', () => {
  it('maps logical types to the Arrow types of the architecture table', () => {
    const schema = arrowSchema(transactions);
    const type = (name: string) => schema.fields.find((f) => f.name === name)!.type;
    expect(type('block_number')).toBeInstanceOf(Int64);
    expect(type('transaction_index')).toBeInstanceOf(Int32);
    expect(type('value')).toBeInstanceOf(Utf8);
    expect(type('from_address')).toBeInstanceOf(Utf8);
    expect(type('success')).toBeInstanceOf(Bool);
    const ts = type('block_timestamp') as TimestampMicrosecond;
    expect(ts).toBeInstanceOf(TimestampMicrosecond);
    expect(ts.unit).toBe(TimeUnit.MICROSECOND);
    expect(ts.timezone).toBe('UTC');
  });

  it('carries field ids, logical types and nullability', () => {
    const schema = arrowSchema(logs);
    expect(schema.fields.map((f) => f.name)).toEqual(logs.columns.map((c) => c.name));
    const topic3 = schema.fields[9];
    expect(topic3.nullable).toBe(true);
    expect(topic3.metadata.get(FIELD_ID_KEY)).toBe('10');
    expect(topic3.metadata.get(LOGICAL_TYPE_KEY)).toBe('hex');
    expect(schema.fields[0].nullable).toBe(false);
    expect(schema.metadata.get('chainlake.dataset')).toBe('logs');
  });

  it('returns the cached instance', () => {
    expect(arrowSchema(blocks)).toBe(arrowSchema(blocks));
  });
});

describe('icebergSchema', () => {
  it('uses Iceberg v2 primitive types and the field ids', () => {
    const schema = icebergSchema(blocks);
    expect(schema.type).toBe('struct');
    expect(schema['schema-id']).toBe(0);
    expect(schema.fields.map((f) => [f.id, f.name, f.required, f.type])).toEqual([
      [1, 'block_number', true, 'long'],
      [2, 'block_hash', true, 'string'],
      [3, 'parent_hash', true, 'string'],
      [4, 'timestamp', true, 'timestamptz'],
      [5, 'author', true, 'string'],
      [6, 'gas_used', true, 'long'],
      [7, 'gas_limit', true, 'long'],
      [8, 'extra_data', true, 'string'],
      [9, 'base_fee_per_gas', false, 'string'],
      [10, 'chain_id', true, 'long'],
    ]);
    const tx = icebergSchema(transactions).fields;
    expect(tx.find((f) => f.name === 'success')!.type).toBe('boolean');
    expect(tx.find((f) => f.name === 'transaction_index')!.type).toBe('int');
  });
});
