import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DeadLetterMessage,
  DefineRequest,
  DefinitionReply,
  DropRequest,
  HeadMessage,
  WindowResultMessage,
  jsonCodec,
  MessageError,
  RawSegmentMessage,
  ReproduceReply,
  ReproduceRequest,
  TypedSegmentMessage,
  type RawSegment,
} from '../src/index.js';

const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

const raw: RawSegment = {
  v: 1,
  chain: 'synthetic',
  from: 100,
  to: 199,
  blocks: 100,
  rows: 5_000,
  bytes: 123_456,
  headHash: '0xabc123',
  location: 'grpc://127.0.0.1:50051',
  tickets: { raw: '{"segment":"synthetic:100-199","dataset":"raw"}' },
};

function decodeError(decode: () => unknown): string {
  try {
    decode();
  } catch (err) {
    expect(err).toBeInstanceOf(MessageError);
    return (err as Error).message;
  }
  throw new Error('decode accepted an invalid message');
}

describe('message codecs', () => {
  it('round-trips every message kind', () => {
    const typed = { v: 1 as const, chain: 'eth', from: 5, to: 5, datasets: { logs: { rows: 3, bytes: 99 } }, location: 'grpc+tls://flight.example:443', tickets: { logs: 't' } };
    const head = { v: 1 as const, chain: 'eth', head: 20, finalized: 10, at: new Date().toISOString() };
    const dead = { v: 1 as const, service: 'archiver', subject: 'x.y', reason: 'bad', data: Buffer.from('{').toString('base64') };
    expect(RawSegmentMessage.decode(RawSegmentMessage.encode(raw))).toEqual(raw);
    expect(TypedSegmentMessage.decode(TypedSegmentMessage.encode(typed))).toEqual(typed);
    expect(HeadMessage.decode(HeadMessage.encode(head))).toEqual(head);
    expect(ReproduceRequest.decode(ReproduceRequest.encode({ v: 1, chain: 'eth', from: 1, to: 2 }))).toEqual({ v: 1, chain: 'eth', from: 1, to: 2 });
    expect(ReproduceReply.decode(ReproduceReply.encode({ v: 1, ok: false, error: 'gone' }))).toEqual({ v: 1, ok: false, error: 'gone' });
    expect(DeadLetterMessage.decode(DeadLetterMessage.encode(dead))).toEqual(dead);
  });

  it('round-trips analytics messages and rejects a malformed window result', () => {
    const result = {
      v: 1 as const, definition: 'fees', windowStart: '2024-01-01T00:00:00.000Z', windowEnd: '2024-01-01T00:01:00.000Z',
      group: { from_address: '0xab', type: 2 }, values: { count: 3, sum_value: '18446744073709551617', p50: null }, rows: 3, revision: 2,
    };
    expect(WindowResultMessage.decode(WindowResultMessage.encode(result))).toEqual(result);
    expect(DefineRequest.decode(DefineRequest.encode({ v: 1, definition: { name: 'x' } }))).toEqual({ v: 1, definition: { name: 'x' } });
    expect(DropRequest.decode(DropRequest.encode({ v: 1, name: 'x' }))).toEqual({ v: 1, name: 'x' });
    expect(DefinitionReply.decode(DefinitionReply.encode({ v: 1, ok: false, error: 'bad' }))).toEqual({ v: 1, ok: false, error: 'bad' });
    expect(decodeError(() => WindowResultMessage.decode(bytes({ ...result, windowStart: 'yesterday' })))).toMatch(/windowStart/);
    expect(decodeError(() => WindowResultMessage.decode(bytes({ ...result, rows: -1 })))).toMatch(/rows/);
  });

  it('rejects a payload that is not JSON', () => {
    expect(decodeError(() => RawSegmentMessage.decode(bytes('{"v":1,')))).toMatch(/RawSegmentMessage: not JSON/);
    expect(decodeError(() => RawSegmentMessage.decode(new Uint8Array([0xff, 0xfe])))).toMatch(/not UTF-8/);
  });

  it('rejects an unknown version, naming the field', () => {
    expect(decodeError(() => RawSegmentMessage.decode(bytes({ ...raw, v: 2 })))).toMatch(/^invalid RawSegmentMessage: v: /);
  });

  it('rejects a missing field, naming it', () => {
    const { location: _location, ...withoutLocation } = raw;
    expect(decodeError(() => RawSegmentMessage.decode(bytes(withoutLocation)))).toMatch(/location: required/);
  });

  it('rejects from > to, naming from', () => {
    expect(decodeError(() => RawSegmentMessage.decode(bytes({ ...raw, from: 200 })))).toMatch(/from: must be ≤ to/);
    expect(decodeError(() => ReproduceRequest.decode(bytes({ v: 1, chain: 'eth', from: 9, to: 8 })))).toMatch(/from: must be ≤ to/);
  });

  it('names every bad field in one line', () => {
    const message = decodeError(() =>
      RawSegmentMessage.decode(bytes({ ...raw, chain: 'Eth.Main', from: -1, to: 2 ** 53, location: 'http://x:1' })),
    );
    expect(message).not.toContain('\n');
    for (const field of ['chain:', 'from:', 'to:', 'location:']) expect(message).toContain(field);
  });

  it('rejects non-integer block numbers and a non-grpc location', () => {
    expect(decodeError(() => HeadMessage.decode(bytes({ v: 1, chain: 'eth', head: 1.5, finalized: 0, at: new Date().toISOString() })))).toMatch(/head: /);
    expect(decodeError(() => RawSegmentMessage.decode(bytes({ ...raw, location: 'http://127.0.0.1:1' })))).toMatch(/location: expected a grpc:\/\/ URI/);
  });

  it('rejects finalized above head', () => {
    expect(decodeError(() => HeadMessage.decode(bytes({ v: 1, chain: 'eth', head: 1, finalized: 2, at: new Date().toISOString() })))).toMatch(/finalized: must be ≤ head/);
  });

  it('tells the two reproduce reply shapes apart', () => {
    expect(decodeError(() => ReproduceReply.decode(bytes({ v: 1, ok: true, error: 'x' })))).toMatch(/location: /);
    expect(decodeError(() => ReproduceReply.decode(bytes({ v: 1, ok: 'yes' })))).toMatch(/ok: /);
  });

  it('refuses to encode an invalid value', () => {
    expect(() => RawSegmentMessage.encode({ ...raw, to: 1 })).toThrow(/cannot encode RawSegmentMessage: from: must be ≤ to/);
  });

  it('builds codecs for any schema', () => {
    const codec = jsonCodec('Ping', z.object({ v: z.literal(1), n: z.number() }));
    expect(codec.name).toBe('Ping');
    expect(codec.decode(codec.encode({ v: 1, n: 3 }))).toEqual({ v: 1, n: 3 });
    expect(() => codec.decode(bytes({ v: 1 }))).toThrow(/invalid Ping: n: /);
  });
});
