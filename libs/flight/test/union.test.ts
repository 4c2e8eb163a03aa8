import { DenseUnion, Field, Int32, makeData, RecordBatch, Schema, Struct, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, FlightServer } from '../src/index.js';

// Dense unions carry one value offset per row (lists carry n + 1): the batch size estimate must not trip on that.
describe('dense union columns', () => {
  const union = new DenseUnion([0, 1], [new Field('text', new Utf8(), false), new Field('number', new Int32(), false)]);
  const schema = new Schema([new Field('value', union, false)]);
  const value = makeData({
    type: union,
    length: 3,
    nullCount: 0,
    typeIds: Int8Array.from([0, 1, 0]),
    valueOffsets: Int32Array.from([0, 0, 1]),
    children: [vectorFromArray(['a', 'b'], new Utf8()).data[0], vectorFromArray([7], new Int32()).data[0]],
  });
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 3, nullCount: 0, children: [value] }));
  let server: FlightServer;
  let client: FlightClient;

  beforeAll(async () => {
    server = new FlightServer({ doGet: async () => ({ schema, batches: [batch] }) }, { port: 0 });
    await server.start();
    client = new FlightClient(server.location);
  });

  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('arrive with every row', async () => {
    const table = await client.doGetTable('x');
    expect(table.numRows).toBe(3);
    expect(Array.from({ length: 3 }, (_, i) => table.getChild('value')!.get(i))).toEqual(['a', 7, 'b']);
  });
});
