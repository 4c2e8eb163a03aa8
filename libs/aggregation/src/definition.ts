import { z } from 'zod';
import { evmDatasets, type ColumnDef, type DatasetDef, type LogicalType } from '@chainlake/schema';

export type Scalar = string | number;

export type Filter =
  | { column: string; op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'; value: Scalar }
  | { column: string; op: 'in'; values: Scalar[] }
  | { column: string; op: 'between'; low: Scalar; high: Scalar }
  | { and: Filter[] }
  | { or: Filter[] };

export type AggregateFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'distinct_count' | 'percentile' | 'stddev';

export interface AggregateSpec {
  /** Result name; defaults to `<fn>_<column>` (`count` for a count of rows, `p<p>_<column>` for a percentile). */
  as?: string;
  fn: AggregateFn;
  column?: string;
  /** Percentile, 0..100. */
  p?: number;
  /** distinct_count / percentile: keep every value instead of a sketch. */
  exact?: boolean;
}

export type WindowSpec =
  | { kind: 'tumbling'; sizeMs: number }
  | { kind: 'sliding'; sizeMs: number; slideMs: number }
  | { kind: 'session'; gapMs: number };

export interface Definition {
  name: string;
  dataset: string;
  eventTime?: string;
  window: WindowSpec;
  filter?: Filter;
  groupBy?: string[];
  aggregates: AggregateSpec[];
  topK?: { k: number; by: string; order?: 'desc' | 'asc' };
  allowedLatenessMs?: number;
  /** Publish the partial results of the open windows that changed, this often (wall-clock ms). */
  earlyResultsMs?: number;
}

export class DefinitionError extends Error {
  override name = 'DefinitionError';
}

const scalar = z.union([z.string(), z.number()]);
const comparison = z.strictObject({
  column: z.string(),
  op: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']),
  value: scalar,
});
const membership = z.strictObject({ column: z.string(), op: z.literal('in'), values: z.array(scalar).min(1) });
const range = z.strictObject({ column: z.string(), op: z.literal('between'), low: scalar, high: scalar });
const filterSchema: z.ZodType<Filter> = z.lazy(() =>
  z.union([
    comparison,
    membership,
    range,
    z.strictObject({ and: z.array(filterSchema).min(1) }),
    z.strictObject({ or: z.array(filterSchema).min(1) }),
  ]),
);

// Positivity and ordering of numbers are checked semantically below so that messages name the field.
const definitionSchema = z.strictObject({
  name: z.string(),
  dataset: z.string(),
  eventTime: z.string().optional(),
  window: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('tumbling'), sizeMs: z.number() }),
    z.strictObject({ kind: z.literal('sliding'), sizeMs: z.number(), slideMs: z.number() }),
    z.strictObject({ kind: z.literal('session'), gapMs: z.number() }),
  ]),
  filter: filterSchema.optional(),
  groupBy: z.array(z.string()).optional(),
  aggregates: z
    .array(
      z.strictObject({
        as: z.string().optional(),
        fn: z.enum(['count', 'sum', 'avg', 'min', 'max', 'distinct_count', 'percentile', 'stddev']),
        column: z.string().optional(),
        p: z.number().optional(),
        exact: z.boolean().optional(),
      }),
    )
    .min(1),
  topK: z
    .strictObject({ k: z.number(), by: z.string(), order: z.enum(['desc', 'asc']).optional() })
    .optional(),
  allowedLatenessMs: z.number().optional(),
  earlyResultsMs: z.number().optional(),
});

const NAME = /^[a-z][a-z0-9_]*$/;
/** Early results more often than this would mostly repeat themselves and load subscribers. */
const MIN_EARLY_RESULTS_MS = 100;
const NUMERIC: readonly LogicalType[] = ['int64', 'int32', 'uint256'];
const ORDERED: readonly LogicalType[] = [...NUMERIC, 'timestamp'];

/** The result name of an aggregate. */
export function resultName(spec: AggregateSpec): string {
  if (spec.as !== undefined) return spec.as;
  if (spec.fn === 'count') return spec.column ? `count_${spec.column}` : 'count';
  if (spec.fn === 'percentile') return `p${String(spec.p).replace('.', '_')}_${spec.column}`;
  return `${spec.fn}_${spec.column}`;
}

/** Parses and validates a definition against its dataset's columns. */
export function parseDefinition(input: unknown): Definition {
  const label = (): string => {
    const name = (input as { name?: unknown } | null)?.name;
    return typeof name === 'string' ? `definition "${name}"` : 'definition';
  };
  const parsed = definitionSchema.safeParse(input);
  if (!parsed.success) {
    const issue = deepestIssue(parsed.error.issues[0]);
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    const message =
      issue.code === 'invalid_union' && issue.path.includes('filter')
        ? 'matches no filter form: {column, op: eq|ne|gt|gte|lt|lte, value}, {column, op: "in", values: [...]}, {column, op: "between", low, high}, {and: [...]} or {or: [...]}, with string or number literals'
        : issue.message;
    throw new DefinitionError(`${label()}: ${path || 'input'}: ${message}`);
  }
  const def = parsed.data as Definition;
  const fail = (field: string, message: string): never => {
    throw new DefinitionError(`definition "${def.name}": ${field} ${message}`);
  };
  if (!NAME.test(def.name)) fail('name', `must match ${NAME.source}, got "${def.name}"`);
  const ds = evmDatasets.find((d) => d.name === def.dataset);
  if (!ds) {
    return fail('dataset', `is unknown: "${def.dataset}" (known: ${evmDatasets.map((d) => d.name).join(', ')})`);
  }
  const col = (field: string, name: string): ColumnDef =>
    ds.columns.find((c) => c.name === name) ?? fail(field, `names no column of ${ds.name}: "${name}"`);

  if (def.eventTime !== undefined && col('eventTime', def.eventTime).type !== 'timestamp') {
    fail('eventTime', `must be a timestamp column, got "${def.eventTime}"`);
  }
  const w = def.window;
  const positive = (field: string, v: number): void => {
    if (!Number.isFinite(v) || v <= 0) fail(field, `must be a positive number, got ${v}`);
  };
  if (w.kind === 'session') positive('window.gapMs', w.gapMs);
  else positive('window.sizeMs', w.sizeMs);
  if (w.kind === 'sliding') {
    positive('window.slideMs', w.slideMs);
    if (w.slideMs > w.sizeMs) fail('window.slideMs', `must not exceed window.sizeMs (${w.sizeMs}), got ${w.slideMs}`);
  }
  const lateness = def.allowedLatenessMs;
  if (lateness !== undefined && (!Number.isFinite(lateness) || lateness < 0)) {
    fail('allowedLatenessMs', `must be a non-negative number, got ${lateness}`);
  }
  const early = def.earlyResultsMs;
  if (early !== undefined && !(Number.isInteger(early) && early >= MIN_EARLY_RESULTS_MS)) {
    fail('earlyResultsMs', `must be a whole number of milliseconds ≥ ${MIN_EARLY_RESULTS_MS}, got ${early}`);
  }
  def.groupBy?.forEach((g, i) => col(`groupBy[${i}]`, g));
  if (def.filter) checkFilter(def.filter, 'filter', col, fail);

  const names = new Set<string>();
  def.aggregates.forEach((a, i) => {
    const field = `aggregates[${i}]`;
    if (a.fn === 'count') {
      if (a.column !== undefined) col(`${field}.column`, a.column);
    } else {
      if (a.column === undefined) fail(`${field}.column`, `is required for ${a.fn}`);
      const c = col(`${field}.column`, a.column!);
      const allowed = a.fn === 'distinct_count' ? null : a.fn === 'min' || a.fn === 'max' ? ORDERED : NUMERIC;
      if (allowed && !allowed.includes(c.type)) {
        fail(`${field}.column`, `must be numeric (${allowed.join(', ')}) for ${a.fn}, got "${c.name}" of type ${c.type}`);
      }
    }
    if (a.fn === 'percentile') {
      if (a.p === undefined) fail(`${field}.p`, 'is required for percentile');
      if (!(a.p! >= 0 && a.p! <= 100)) fail(`${field}.p`, `must be between 0 and 100, got ${a.p}`);
    } else if (a.p !== undefined) fail(`${field}.p`, `is only valid for percentile`);
    if (a.exact !== undefined && a.fn !== 'distinct_count' && a.fn !== 'percentile') {
      fail(`${field}.exact`, 'is only valid for distinct_count and percentile');
    }
    const name = resultName(a);
    if (!NAME.test(name)) fail(`${field}.as`, `must match ${NAME.source}, got "${name}"`);
    if (names.has(name)) fail(`${field}.as`, `duplicates the result name "${name}"`);
    names.add(name);
  });
  if (def.topK) {
    if (!Number.isInteger(def.topK.k) || def.topK.k < 1) fail('topK.k', `must be an integer ≥ 1, got ${def.topK.k}`);
    if (!names.has(def.topK.by)) fail('topK.by', `names no aggregate: "${def.topK.by}" (have: ${[...names].join(', ')})`);
  }
  return def;
}

/**
 * For a union that failed, the issue of the branch that got furthest (e.g. a bad leaf inside
 * `and`), so that the message points into the nested filter rather than at the whole union.
 */
function deepestIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: z.core.$ZodIssue = issue;
  for (const branch of issue.errors) {
    for (const inner of branch) {
      const resolved = deepestIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
      if (resolved.path.length > best.path.length + 1) best = resolved;
    }
  }
  return best;
}

function checkFilter(
  f: Filter,
  field: string,
  col: (field: string, name: string) => ColumnDef,
  fail: (field: string, message: string) => never,
): void {
  if ('and' in f || 'or' in f) {
    const parts = 'and' in f ? f.and : f.or;
    const key = 'and' in f ? 'and' : 'or';
    parts.forEach((p, i) => checkFilter(p, `${field}.${key}[${i}]`, col, fail));
    return;
  }
  const c = col(`${field}.column`, f.column);
  const check = (sub: string, v: Scalar): void => {
    const problem = literalProblem(c, v);
    if (problem) fail(`${field}.${sub}`, problem);
  };
  if (c.type === 'bool' && f.op !== 'eq' && f.op !== 'ne' && f.op !== 'in') {
    fail(`${field}.op`, `"${f.op}" cannot compare bool column "${c.name}"`);
  }
  if (f.op === 'in') f.values.forEach((v, i) => check(`values[${i}]`, v));
  else if (f.op === 'between') {
    check('low', f.low);
    check('high', f.high);
  } else check('value', f.value);
}

function literalProblem(c: ColumnDef, v: Scalar): string | null {
  switch (c.type) {
    case 'int64':
    case 'int32':
      return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v))
        ? null
        : `must be an integer for ${c.type} column "${c.name}", got ${JSON.stringify(v)}`;
    case 'uint256':
      return (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'string' && /^\d+$/.test(v))
        ? null
        : `must be a non-negative integer (decimal string for large values) for uint256 column "${c.name}", got ${JSON.stringify(v)}`;
    case 'timestamp':
      return typeof v === 'number' || !Number.isNaN(Date.parse(v))
        ? null
        : `must be epoch milliseconds or an ISO date for timestamp column "${c.name}", got ${JSON.stringify(v)}`;
    case 'bool':
      return v === 'true' || v === 'false' || v === 1 || v === 0
        ? null
        : `must be "true" or "false" for bool column "${c.name}", got ${JSON.stringify(v)}`;
    case 'hex':
    case 'string':
      return typeof v === 'string' ? null : `must be a string for ${c.type} column "${c.name}", got ${JSON.stringify(v)}`;
  }
}

/** The dataset of a parsed definition. */
export function datasetOf(def: Definition): DatasetDef {
  return evmDatasets.find((d) => d.name === def.dataset)!;
}
