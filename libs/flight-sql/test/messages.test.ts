import { describe, expect, it } from 'vitest';
import { anyMessageName, decodeMessage, encodeMessage, FlightSqlProtocolError, packAny, TYPE_URL_PREFIX, unpackAny } from '../src/index.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
/** An Any by hand: type_url (field 1) and value (field 2), both length-delimited with one-byte lengths. */
function handAny(name: string, value: Buffer): Buffer {
  const url = Buffer.from(TYPE_URL_PREFIX + name);
  return Buffer.concat([Buffer.from([0x0a, url.length]), url, Buffer.from([0x12, value.length]), value]);
}

describe('Flight SQL messages', () => {
  it('encodes with the field numbers of FlightSql.proto', () => {
    expect(hex(encodeMessage('CommandStatementQuery', { query: 'SELECT 1' }))).toBe('0a0853454c4543542031');
    expect(hex(encodeMessage('TicketStatementQuery', { statementHandle: Buffer.from([1, 2]) }))).toBe('0a020102');
    expect(hex(encodeMessage('CommandGetTables', { tableNameFilterPattern: 'b%', tableTypes: ['TABLE'], includeSchema: true }))).toBe(
      '1a02622522055441424c452801',
    );
    expect(hex(encodeMessage('CommandGetSqlInfo', { info: [0, 504] }))).toBe('0a0300f803');
    expect(hex(encodeMessage('ActionCreatePreparedStatementResult', { preparedStatementHandle: Buffer.from('h'), datasetSchema: Buffer.from('d'), parameterSchema: Buffer.from('p') }))).toBe(
      '0a01681201641a0170',
    );
    expect(hex(encodeMessage('DoPutPreparedStatementResult', { preparedStatementHandle: Buffer.from('h') }))).toBe('0a0168');
  });

  it('decodes what other implementations send, defaults and presence included', () => {
    expect(decodeMessage('CommandGetSqlInfo', Buffer.from('0800 08f803'.replace(' ', ''), 'hex'))).toEqual({ info: [0, 504] });
    expect(decodeMessage('CommandGetSqlInfo', Buffer.from('0a0300f803', 'hex'))).toEqual({ info: [0, 504] });
    expect(decodeMessage('CommandGetTables', Buffer.alloc(0))).toEqual({ tableTypes: [], includeSchema: false });
    expect(decodeMessage('CommandGetDbSchemas', Buffer.from('0a00', 'hex'))).toEqual({ catalog: '' });
    expect(decodeMessage('CommandGetDbSchemas', Buffer.from('1203612562', 'hex'))).toEqual({ dbSchemaFilterPattern: 'a%b' });
    const statement = decodeMessage('CommandStatementQuery', Buffer.from('0a0853454c45435420311200', 'hex'));
    expect(statement.query).toBe('SELECT 1');
    expect(statement.transactionId).toEqual(Buffer.alloc(0));
    expect(decodeMessage('ActionClosePreparedStatementRequest', Buffer.from('0a03616263', 'hex')).preparedStatementHandle.toString()).toBe('abc');
  });

  it('round-trips every message through encode and decode', () => {
    const cases = [
      ['CommandStatementQuery', { query: 'SELECT * FROM "synthetic"."blocks"' }],
      ['CommandPreparedStatementQuery', { preparedStatementHandle: Buffer.from('handle-1') }],
      ['CommandGetCatalogs', {}],
      ['CommandGetDbSchemas', { catalog: 'chainlake', dbSchemaFilterPattern: 'syn%' }],
      ['CommandGetTables', { catalog: 'chainlake', dbSchemaFilterPattern: '%', tableNameFilterPattern: 'b_ocks', tableTypes: ['TABLE', 'VIEW'], includeSchema: true }],
      ['CommandGetTableTypes', {}],
      ['CommandGetSqlInfo', { info: [0, 1, 2, 3, 508, 10_000] }],
      ['ActionCreatePreparedStatementRequest', { query: 'SELECT $1' }],
      ['ActionCreatePreparedStatementResult', { preparedStatementHandle: Buffer.from('h'), datasetSchema: Buffer.from([1]), parameterSchema: Buffer.alloc(0), isUpdate: false }],
      ['ActionClosePreparedStatementRequest', { preparedStatementHandle: Buffer.from('h') }],
    ] as const;
    for (const [name, message] of cases) {
      expect({ name, ...decodeMessage(name, encodeMessage(name, message)) }).toMatchObject({ name, ...message });
    }
  });

  it('wraps commands in google.protobuf.Any with type.googleapis.com/arrow.flight.protocol.sql.<Message>', () => {
    const packed = packAny('CommandGetTables', { includeSchema: true });
    expect(hex(packed)).toBe(hex(handAny('CommandGetTables', Buffer.from('2801', 'hex'))));
    expect(anyMessageName(packed)).toBe('CommandGetTables');
    expect(unpackAny(packed)).toEqual({ name: 'CommandGetTables', message: { tableTypes: [], includeSchema: true } });
    expect(unpackAny(handAny('CommandStatementQuery', Buffer.from('0a0131', 'hex')))).toEqual({ name: 'CommandStatementQuery', message: { query: '1' } });
  });

  it('leaves payloads that are not Flight SQL to others, and names the Flight SQL it does not serve', () => {
    expect(unpackAny(Buffer.from('{"table":"synthetic.blocks"}'))).toBeUndefined();
    expect(unpackAny(Buffer.from('{"database":"x","sql_query":"SELECT 1","query_type":"sql"}'))).toBeUndefined();
    expect(unpackAny(Buffer.alloc(0))).toBeUndefined();
    const foreign = Buffer.concat([Buffer.from([0x0a, 24]), Buffer.from('type.googleapis.com/x.Y1')]);
    expect(unpackAny(foreign)).toBeUndefined();

    const substrait = (): unknown => unpackAny(handAny('CommandStatementSubstraitPlan', Buffer.alloc(0)));
    expect(substrait).toThrow(FlightSqlProtocolError);
    expect(substrait).toThrow('Flight SQL CommandStatementSubstraitPlan is not supported by this read-only server');
    expect(() => unpackAny(handAny('CommandFromTheFuture', Buffer.alloc(0)))).toThrow(expect.objectContaining({ unsupported: true }));
    const truncated = handAny('CommandStatementQuery', Buffer.from('0aff', 'hex'));
    expect(() => unpackAny(truncated)).toThrow(expect.objectContaining({ unsupported: false, message: expect.stringContaining('malformed CommandStatementQuery') }));
  });
});
