import { z } from 'zod';
import { jsonCodec, type Codec } from './codec.js';

export const CHAIN_PATTERN = /^[a-z0-9_-]+$/;

const chain = z.string().regex(CHAIN_PATTERN, 'expected [a-z0-9_-]+');
const count = z.int().nonnegative();
const blockNumber = z.int().nonnegative();
const location = z.url({
  protocol: /^grpc(\+tls)?$/,
  error: (issue) => (issue.input === undefined ? 'required' : 'expected a grpc:// URI'),
});
const tickets = z.record(z.string().min(1), z.string().min(1));
const rangeIsOrdered = { message: 'must be ≤ to', path: ['from'] };

const rawSegment = z
  .object({
    v: z.literal(1),
    chain,
    from: blockNumber,
    to: blockNumber,
    blocks: count,
    rows: count,
    bytes: count,
    headHash: z.string().regex(/^0x[0-9a-fA-F]+$/, 'expected 0x-prefixed hex'),
    location,
    tickets,
  })
  .refine((m) => m.from <= m.to, rangeIsOrdered);

const typedSegment = z
  .object({
    v: z.literal(1),
    chain,
    from: blockNumber,
    to: blockNumber,
    datasets: z.record(z.string().min(1), z.object({ rows: count, bytes: count })),
    location,
    tickets,
  })
  .refine((m) => m.from <= m.to, rangeIsOrdered);

const head = z
  .object({ v: z.literal(1), chain, head: blockNumber, finalized: blockNumber, at: z.iso.datetime({ offset: true }) })
  .refine((m) => m.finalized <= m.head, { message: 'must be ≤ head', path: ['finalized'] });

const reorg = z
  .object({ v: z.literal(1), chain, forkPoint: blockNumber, head: blockNumber, at: z.iso.datetime({ offset: true }) })
  .refine((m) => m.forkPoint <= m.head, { message: 'must be ≤ head', path: ['forkPoint'] });

const reproduceRequest = z
  .object({ v: z.literal(1), chain, from: blockNumber, to: blockNumber })
  .refine((m) => m.from <= m.to, rangeIsOrdered);

const reproduceReply = z.discriminatedUnion('ok', [
  z.object({ v: z.literal(1), ok: z.literal(true), location, tickets }),
  z.object({ v: z.literal(1), ok: z.literal(false), error: z.string().min(1) }),
]);

const deadLetter = z.object({
  v: z.literal(1),
  service: z.string().min(1),
  subject: z.string().min(1),
  reason: z.string(),
  data: z.base64(),
});

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const windowResult = z.object({
  v: z.literal(1),
  definition: z.string().min(1),
  windowStart: z.iso.datetime({ offset: true }),
  windowEnd: z.iso.datetime({ offset: true }),
  group: z.record(z.string(), scalar),
  values: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
  rows: count,
  revision: z.int().nonnegative(),
});

/** An early (partial) result of a window still open, on `analyticsUpdates(<definition>)`. */
const windowUpdate = windowResult.omit({ revision: true }).extend({ early: z.literal(true) });

/** The definition itself is checked by the analytics service (@chainlake/aggregation), which knows the datasets. */
const defineRequest = z.object({ v: z.literal(1), definition: z.unknown() });
const dropRequest = z.object({ v: z.literal(1), name: z.string().min(1) });
const definitionReply = z.discriminatedUnion('ok', [
  z.object({ v: z.literal(1), ok: z.literal(true), name: z.string().min(1) }),
  z.object({ v: z.literal(1), ok: z.literal(false), error: z.string().min(1) }),
]);

const catalogName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected [A-Za-z0-9_-]+');
const commit = z.object({
  v: z.literal(1),
  namespace: catalogName,
  table: catalogName,
  snapshotId: z.int(),
  sequenceNumber: z.int().nonnegative(),
  operation: z.enum(['append', 'replace', 'overwrite', 'delete']),
  summary: z.record(z.string(), z.string()),
  metadataLocation: z.string().min(1),
  at: z.iso.datetime({ offset: true }),
});

const stored = z
  .object({
    v: z.literal(1),
    chain,
    tier: z.enum(['hot', 'cold']),
    dataset: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a dataset name'),
    from: blockNumber,
    to: blockNumber,
    rows: count,
    files: z.array(z.string().min(1)).optional(),
  })
  .refine((m) => m.from <= m.to, rangeIsOrdered);

export const RawSegmentMessage = jsonCodec('RawSegmentMessage', rawSegment);
export const TypedSegmentMessage = jsonCodec('TypedSegmentMessage', typedSegment);
export const HeadMessage = jsonCodec('HeadMessage', head);
/** Blocks above `forkPoint` are void. */
export const ReorgMessage = jsonCodec('ReorgMessage', reorg);
export const ReproduceRequest = jsonCodec('ReproduceRequest', reproduceRequest);
export const ReproduceReply = jsonCodec('ReproduceReply', reproduceReply);
/** What `consumeDurable` publishes to `deadLetter(service)` for a message it could not decode; `data` is the raw payload in base64. */
export const DeadLetterMessage = jsonCodec('DeadLetterMessage', deadLetter);
/** A window result on `analytics(<definition>)`; a later revision of the same window and group replaces it. */
export const WindowResultMessage = jsonCodec('WindowResultMessage', windowResult);
/** An early result on `analyticsUpdates(<definition>)`: the partial values of a window still open, replaced by its result when it closes. */
export const WindowUpdateMessage = jsonCodec('WindowUpdateMessage', windowUpdate);
export const DefineRequest = jsonCodec('DefineRequest', defineRequest);
export const DropRequest = jsonCodec('DropRequest', dropRequest);
export const DefinitionReply = jsonCodec('DefinitionReply', definitionReply);
/** A snapshot the catalog committed, on `catalogCommits(namespace, table)`; `summary` is the snapshot's Iceberg summary. */
export const CommitMessage = jsonCodec('CommitMessage', commit);
/** On `stored(chain)`: the archiver wrote blocks [from, to] of a dataset to the hot tier or to Parquet (`files`, warehouse-relative). */
export const StoredMessage = jsonCodec('StoredMessage', stored);

export type MessageOf<C> = C extends Codec<infer T> ? T : never;
export type RawSegment = MessageOf<typeof RawSegmentMessage>;
export type TypedSegment = MessageOf<typeof TypedSegmentMessage>;
export type Head = MessageOf<typeof HeadMessage>;
export type Reorg = MessageOf<typeof ReorgMessage>;
export type Reproduce = MessageOf<typeof ReproduceRequest>;
export type ReproduceResult = MessageOf<typeof ReproduceReply>;
export type DeadLetter = MessageOf<typeof DeadLetterMessage>;
export type WindowResultMessageBody = MessageOf<typeof WindowResultMessage>;
export type Commit = MessageOf<typeof CommitMessage>;
export type Stored = MessageOf<typeof StoredMessage>;
