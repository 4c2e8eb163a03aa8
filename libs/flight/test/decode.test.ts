import { Dictionary, Field, Int32, RecordBatch, Schema, Struct, Table, Utf8, makeData, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeFlightData, FlightDataEncoder } from '../src/ipc.js';
import type { OutgoingFlightData, WireFlightData } from '../src/proto.js';
import { columnValues, fixtureBatch, fixtureSchema, fixtureTable } from './fixture.js';

const limits = { targetMessageBytes: 1 << 20, maxMessageBytes: 4 << 20 };
const EMPTY = Buffer.alloc(0);

/** FlightData as a client receives it; `shift` places each body that many bytes past 8-byte alignment. */
function wire(message: OutgoingFlightData, shift = 0): WireFlightData {
  const body = Buffer.alloc(message.bodyLength + shift).subarray(shift);
  let offset = 0;
  for (const chunk of message.body) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { flightDescriptor: null, dataHeader: Buffer.from(message.header), appMetadata: EMPTY, dataBody: body };
}

function encoded(batches = fixtureTable(3, 500).batches): WireFlightData[] {
  const encoder = new FlightDataEncoder(fixtureSchema, limits);
  return [encoder.start(), ...batches.flatMap((batch) => [...encoder.encode(batch)])].map((m, i) => wire(m, i % 3));
}

async function* from(messages: WireFlightData[]): AsyncGenerator<WireFlightData> {
  yield* messages;
}

async function rows(messages: WireFlightData[]): Promise<number> {
  const { batches } = await decodeFlightData(from(messages));
  let n = 0;
  for await (const batch of batches) n += batch.numRows;
  return n;
}

describe('decodeFlightData', () => {
  it('decodes schema, replacement dictionaries and batches, realigning misplaced bodies', async () => {
    const table = fixtureTable(3, 500);
    const { schema, batches } = await decodeFlightData(from(encoded(table.batches)));
    const received = [];
    for await (const batch of batches) received.push(batch);
    expect(schema.fields.map((f) => f.name)).toEqual(fixtureSchema.fields.map((f) => f.name));
    expect(received).toHaveLength(3);
    const expected = columnValues(table);
    const actual = columnValues(new Table(schema, received));
    for (const name of Object.keys(expected)) expect(actual[name], name).toEqual(expected[name]);
  });

  it('skips metadata-only messages', async () => {
    const messages = encoded();
    messages.splice(1, 0, { flightDescriptor: null, dataHeader: EMPTY, appMetadata: Buffer.from('note'), dataBody: EMPTY });
    expect(await rows(messages)).toBe(1500);
  });

  it('rejects streams that do not make sense, saying what is wrong', async () => {
    const [schema, ...rest] = encoded();
    await expect(rows([])).rejects.toThrow('the FlightData stream ended before its schema message');
    await expect(rows(rest)).rejects.toThrow('does not start with its schema message');
    await expect(rows([schema, schema, ...rest])).rejects.toThrow('a second schema message');
    const garbage = { ...rest[0], dataHeader: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]) };
    await expect(rows([schema, garbage])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const otherSchema = new Schema([new Field('label', new Dictionary(new Utf8(), new Int32(), 99), false)]);
    const labels = vectorFromArray(['a', 'b', 'a'], otherSchema.fields[0].type);
    const otherBatch = new RecordBatch(otherSchema, makeData({ type: new Struct(otherSchema.fields), length: 3, nullCount: 0, children: [labels.data[0]] }));
    const [foreignDictionary] = [...new FlightDataEncoder(otherSchema, limits).encode(otherBatch)].map((m) => wire(m));
    await expect(rows([schema, foreignDictionary])).rejects.toThrow('dictionary batch for id 99, which no field of the schema uses');
    const short = { ...rest[1], dataBody: rest[1].dataBody.subarray(0, 16) };
    await expect(rows([schema, rest[0], short])).rejects.toThrow(/data_body has 16 bytes, its IPC message declares \d+/);
  });

  it('tells the transport when the reader leaves early', async () => {
    let abandoned = 0;
    const { batches } = await decodeFlightData(from(encoded([fixtureBatch(0, 0, 10), fixtureBatch(1, 10, 10)])), () => abandoned++);
    for await (const batch of batches) {
      expect(batch.numRows).toBe(10);
      break;
    }
    expect(abandoned).toBe(1);
  });
});
