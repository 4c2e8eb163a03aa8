/**
 * The datasets. One column list per dataset drives the Arrow schema, the Iceberg schema and the
 * PostgreSQL DDL.
 *
 * Field ids are Iceberg/Parquet column identities: a field id, once published, belongs to that
 * column forever. Never renumber, never reuse the id of a dropped column; a new column takes the
 * next unused id of its dataset. test/schema.test.ts pins the list.
 */

/** How a value is represented; see the "Data types" table in docs/architecture.md. */
export type LogicalType = 'int64' | 'int32' | 'uint256' | 'hex' | 'timestamp' | 'bool' | 'string';

export interface ColumnDef {
  name: string;
  type: LogicalType;
  nullable: boolean;
  fieldId: number;
  doc: string;
  /** Arrow dictionary-encode in Flight (e.g. addresses). Off everywhere for now. */
  dictionary?: boolean;
}

export interface DatasetDef {
  name: string;
  columns: readonly ColumnDef[];
  blockColumn: 'block_number';
  /** 'timestamp' for blocks, 'block_timestamp' otherwise. */
  timestampColumn: string;
  sortKey: readonly string[];
  doc: string;
}

const column = (fieldId: number, name: string, type: LogicalType, doc: string, nullable = false): ColumnDef =>
  Object.freeze({ name, type, nullable, fieldId, doc });

function defineDataset(def: DatasetDef): DatasetDef {
  const names = new Set<string>();
  const ids = new Set<number>();
  for (const c of def.columns) {
    if (names.has(c.name)) throw new Error(`dataset ${def.name}: duplicate column ${c.name}`);
    if (ids.has(c.fieldId)) throw new Error(`dataset ${def.name}: duplicate field id ${c.fieldId}`);
    names.add(c.name);
    ids.add(c.fieldId);
  }
  for (const key of [...def.sortKey, def.blockColumn, def.timestampColumn]) {
    if (!names.has(key)) throw new Error(`dataset ${def.name}: unknown key column ${key}`);
  }
  return Object.freeze({ ...def, columns: Object.freeze([...def.columns]), sortKey: Object.freeze([...def.sortKey]) });
}

export const blocks: DatasetDef = defineDataset({
  name: 'blocks',
  doc: 'One row per block of the canonical chain.',
  blockColumn: 'block_number',
  timestampColumn: 'timestamp',
  sortKey: ['block_number'],
  columns: [
    column(1, 'block_number', 'int64', 'Block height.'),
    column(2, 'block_hash', 'hex', 'Block hash, 32 bytes.'),
    column(3, 'parent_hash', 'hex', 'Hash of the previous block.'),
    column(4, 'timestamp', 'timestamp', 'Block timestamp (seconds precision on EVM chains), UTC.'),
    column(5, 'author', 'hex', 'Fee recipient (miner / proposer) address.'),
    column(6, 'gas_used', 'int64', 'Gas used by all transactions of the block.'),
    column(7, 'gas_limit', 'int64', 'Block gas limit.'),
    column(8, 'extra_data', 'hex', 'Extra data field of the header.'),
    column(9, 'base_fee_per_gas', 'uint256', 'EIP-1559 base fee in wei; null before London.', true),
    column(10, 'chain_id', 'int64', 'EIP-155 chain id.'),
  ],
});

export const transactions: DatasetDef = defineDataset({
  name: 'transactions',
  doc: 'One row per transaction, with its receipt outcome.',
  blockColumn: 'block_number',
  timestampColumn: 'block_timestamp',
  sortKey: ['block_number', 'transaction_index'],
  columns: [
    column(1, 'block_number', 'int64', 'Height of the including block.'),
    column(2, 'block_timestamp', 'timestamp', 'Timestamp of the including block, UTC.'),
    column(3, 'transaction_index', 'int32', 'Position in the block.'),
    column(4, 'transaction_hash', 'hex', 'Transaction hash, 32 bytes.'),
    column(5, 'nonce', 'int64', 'Sender nonce.'),
    column(6, 'from_address', 'hex', 'Sender address.'),
    column(7, 'to_address', 'hex', 'Recipient address; null for a contract creation.', true),
    column(8, 'value', 'uint256', 'Transferred value in wei.'),
    column(9, 'input', 'hex', 'Call data (or init code for a contract creation).'),
    column(10, 'gas_limit', 'int64', 'Gas limit set by the sender.'),
    column(11, 'gas_used', 'int64', 'Gas used, from the receipt.'),
    column(12, 'gas_price', 'uint256', 'Effective gas price in wei.'),
    column(13, 'transaction_type', 'int32', 'EIP-2718 type: 0 legacy, 1 access list, 2 EIP-1559, …'),
    column(14, 'max_priority_fee_per_gas', 'uint256', 'EIP-1559 tip cap in wei; null for older types.', true),
    column(15, 'max_fee_per_gas', 'uint256', 'EIP-1559 fee cap in wei; null for older types.', true),
    column(16, 'success', 'bool', 'Receipt status: true if the transaction did not revert.'),
    column(17, 'chain_id', 'int64', 'EIP-155 chain id.'),
  ],
});

export const logs: DatasetDef = defineDataset({
  name: 'logs',
  doc: 'One row per event log emitted by a successful transaction.',
  blockColumn: 'block_number',
  timestampColumn: 'block_timestamp',
  sortKey: ['block_number', 'log_index'],
  columns: [
    column(1, 'block_number', 'int64', 'Height of the including block.'),
    column(2, 'block_timestamp', 'timestamp', 'Timestamp of the including block, UTC.'),
    column(3, 'transaction_index', 'int32', 'Position of the emitting transaction in the block.'),
    column(4, 'log_index', 'int32', 'Position of the log in the block.'),
    column(5, 'transaction_hash', 'hex', 'Hash of the emitting transaction.'),
    column(6, 'address', 'hex', 'Address of the emitting contract.'),
    column(7, 'topic0', 'hex', 'First topic (event signature hash for non-anonymous events); null if none.', true),
    column(8, 'topic1', 'hex', 'Second topic; null if none.', true),
    column(9, 'topic2', 'hex', 'Third topic; null if none.', true),
    column(10, 'topic3', 'hex', 'Fourth topic; null if none.', true),
    column(11, 'data', 'hex', 'Non-indexed event data.'),
    column(12, 'chain_id', 'int64', 'EIP-155 chain id.'),
  ],
});

export const evmDatasets: readonly DatasetDef[] = Object.freeze([blocks, transactions, logs]);

export function dataset(name: string): DatasetDef {
  const found = evmDatasets.find((d) => d.name === name);
  if (!found) {
    throw new Error(`unknown dataset "${name}" (known: ${evmDatasets.map((d) => d.name).join(', ')})`);
  }
  return found;
}
