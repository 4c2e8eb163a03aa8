import { Data, Field, List, makeData, RecordBatch, Schema, Struct, Table, Utf8 } from 'apache-arrow';

/**
 * The EVM raw segment format: what eth_getBlockByNumber(full=true) and eth_getBlockReceipts
 * return, unchanged (hex quantity strings, 0x data), laid out as Arrow columns. Column names are
 * the JSON-RPC field names.
 */
export const rawDatasetNames = ['raw_blocks', 'raw_transactions', 'raw_logs'] as const;
export type RawDatasetName = (typeof rawDatasetNames)[number];

export interface RawTables {
  raw_blocks: Table;
  raw_transactions: Table;
  raw_logs: Table;
}

const utf8 = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);

const schemas: Record<RawDatasetName, Schema> = {
  raw_blocks: new Schema(
    [
      utf8('number'),
      utf8('hash'),
      utf8('parentHash'),
      utf8('timestamp'),
      utf8('miner'),
      utf8('gasUsed'),
      utf8('gasLimit'),
      utf8('extraData'),
      utf8('baseFeePerGas', true),
    ],
    new Map([['chainlake.dataset', 'raw_blocks']]),
  ),
  raw_transactions: new Schema(
    [
      utf8('blockNumber'),
      utf8('transactionIndex'),
      utf8('hash'),
      utf8('nonce'),
      utf8('from'),
      utf8('to', true),
      utf8('value'),
      utf8('input'),
      utf8('gas'),
      utf8('gasPrice'),
      // Absent from pre-Berlin nodes' responses, which means legacy (0).
      utf8('type', true),
      utf8('maxPriorityFeePerGas', true),
      utf8('maxFeePerGas', true),
      // From the receipt.
      utf8('gasUsed'),
      // From the receipt; absent before Byzantium (receipts then carry `root`).
      utf8('status', true),
    ],
    new Map([['chainlake.dataset', 'raw_transactions']]),
  ),
  raw_logs: new Schema(
    [
      utf8('blockNumber'),
      utf8('transactionIndex'),
      utf8('logIndex'),
      utf8('transactionHash'),
      utf8('address'),
      new Field('topics', new List(new Field('item', new Utf8(), false)), false),
      utf8('data'),
    ],
    new Map([['chainlake.dataset', 'raw_logs']]),
  ),
};

function isRawDatasetName(name: string): name is RawDatasetName {
  return (rawDatasetNames as readonly string[]).includes(name);
}

export function rawSchema(name: string): Schema {
  if (!isRawDatasetName(name)) {
    throw new Error(`unknown raw dataset "${name}" (known: ${rawDatasetNames.join(', ')})`);
  }
  return schemas[name];
}

/**
 * Assembles one raw table (a single record batch) from column data, checking that every
 * column of the raw schema is present with the same length.
 */
export function rawTable(name: RawDatasetName, columns: Record<string, Data>): Table {
  const schema = rawSchema(name);
  const children = schema.fields.map((f) => {
    const data = columns[f.name];
    if (!data) throw new Error(`${name}: column ${f.name} is missing`);
    return data;
  });
  const extra = Object.keys(columns).filter((k) => !schema.fields.some((f) => f.name === k));
  if (extra.length > 0) throw new Error(`${name}: unknown columns ${extra.join(', ')}`);
  const length = children[0].length;
  for (const [i, child] of children.entries()) {
    if (child.length !== length) {
      throw new Error(`${name}: column ${schema.fields[i].name} has ${child.length} rows, expected ${length}`);
    }
  }
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new Table(schema, [new RecordBatch(schema, data)]);
}
