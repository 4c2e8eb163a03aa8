import { describe, expect, it } from 'vitest';
import { createStreamNames, createSubjects, streamSubjects, subjectsOverlap } from '../src/subjects.js';

describe('subjects', () => {
  const subjects = createSubjects('chainlake');

  it('follows the documented layout', () => {
    expect(subjects.rawSegments('eth')).toBe('chainlake.eth.raw.segments');
    expect(subjects.typedSegments('eth')).toBe('chainlake.eth.typed.segments');
    expect(subjects.head('eth')).toBe('chainlake.eth.head');
    expect(subjects.reorg('eth')).toBe('chainlake.eth.events.reorg');
    expect(subjects.stored('eth')).toBe('chainlake.eth.events.stored');
    expect(subjects.control('source', 'reproduce')).toBe('chainlake.control.source.reproduce');
    expect(subjects.deadLetter('archiver')).toBe('chainlake.deadletter.archiver');
    expect(subjects.analytics('tx_per_minute')).toBe('chainlake.analytics.tx_per_minute');
    expect(subjects.catalogCommits('eth', 'logs')).toBe('chainlake.catalog.eth.logs.commits');
  });

  it('rejects tokens that would change the subject structure', () => {
    expect(() => subjects.rawSegments('eth.main')).toThrow(/invalid chain "eth.main"/);
    expect(() => subjects.rawSegments('ETH')).toThrow(/invalid chain/);
    expect(() => subjects.head('control')).toThrow(/reserved/);
    expect(() => subjects.control('source', '*')).toThrow(/invalid verb "\*"/);
    expect(() => subjects.deadLetter('a b')).toThrow(/invalid service/);
    expect(() => createSubjects('Chain.Lake')).toThrow(/invalid NATS prefix/);
  });

  it('names streams after the prefix', () => {
    expect(createStreamNames('chainlake')).toEqual({
      raw: 'CHAINLAKE_RAW',
      typed: 'CHAINLAKE_TYPED',
      events: 'CHAINLAKE_EVENTS',
      deadLetter: 'CHAINLAKE_DEADLETTER',
      analytics: 'CHAINLAKE_ANALYTICS',
    });
    expect(createStreamNames('cl_t_1a2b').raw).toBe('CL_T_1A2B_RAW');
  });

  it('gives each subject to exactly one stream, and none to core subjects', () => {
    const streams = streamSubjects('chainlake');
    const captured = (subject: string) =>
      Object.entries(streams).filter(([, patterns]) => patterns.some((p) => subjectsOverlap(p, subject))).map(([kind]) => kind);
    expect(captured(subjects.rawSegments('eth'))).toEqual(['raw']);
    expect(captured(subjects.typedSegments('eth'))).toEqual(['typed']);
    expect(captured(subjects.reorg('eth'))).toEqual(['events']);
    expect(captured(subjects.stored('eth'))).toEqual(['events']);
    expect(captured(subjects.catalogCommits('eth', 'logs'))).toEqual(['events']);
    expect(captured(subjects.deadLetter('reorg'))).toEqual(['deadLetter']);
    expect(captured(subjects.head('eth'))).toEqual([]);
    expect(captured(subjects.control('source', 'reproduce'))).toEqual([]);
    expect(captured(subjects.analytics('stored'))).toEqual(['analytics']);
    expect(captured(`${subjects.analytics('fees')}.updates`)).toEqual([]);
    const all = Object.values(streams).flat();
    for (const a of all) for (const b of all) if (a !== b) expect(subjectsOverlap(a, b), `${a} vs ${b}`).toBe(false);
  });

  it('decides subject overlap like NATS wildcards', () => {
    expect(subjectsOverlap('a.*.c', 'a.b.c')).toBe(true);
    expect(subjectsOverlap('a.>', 'a.b.c')).toBe(true);
    expect(subjectsOverlap('a.>', 'a')).toBe(false);
    expect(subjectsOverlap('a.*', 'a.b.c')).toBe(false);
    expect(subjectsOverlap('a.*.c', 'a.b.*')).toBe(true);
    expect(subjectsOverlap('a.b.c', 'a.b.d')).toBe(false);
  });
});
