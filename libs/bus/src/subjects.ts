import { CHAIN_PATTERN } from './messages.js';

export interface Subjects {
  /** `<prefix>.<chain>.raw.segments` */
  rawSegments(chain: string): string;
  /** `<prefix>.<chain>.typed.segments` */
  typedSegments(chain: string): string;
  /** `<prefix>.<chain>.head` (core NATS) */
  head(chain: string): string;
  /** `<prefix>.<chain>.events.reorg` */
  reorg(chain: string): string;
  /** `<prefix>.<chain>.events.stored` */
  stored(chain: string): string;
  /** `<prefix>.control.<service>.<verb>` (request/reply) */
  control(service: string, verb: string): string;
  /** `<prefix>.deadletter.<service>` */
  deadLetter(service: string): string;
  /** `<prefix>.analytics.<name>` */
  analytics(name: string): string;
  /** `<prefix>.analytics.<name>.updates` (core NATS: early results, outside the ANALYTICS stream's `<prefix>.analytics.*`) */
  analyticsUpdates(name: string): string;
  /** `<prefix>.catalog.<namespace>.<table>.commits` */
  catalogCommits(namespace: string, table: string): string;
}

export interface StreamNames {
  raw: string;
  typed: string;
  /** reorg, stored and catalog commits */
  events: string;
  deadLetter: string;
  /** window results, kept for subscribers that start late */
  analytics: string;
}

export const PREFIX_PATTERN = /^[a-z][a-z0-9_]*$/;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Second-level tokens that are not chains; a chain with one of these names would share their subjects. */
const RESERVED_CHAIN_NAMES = new Set(['control', 'deadletter', 'analytics', 'catalog']);

export function assertPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) throw new Error(`invalid NATS prefix "${prefix}": expected ${PREFIX_PATTERN.source}`);
}

function token(what: string, value: string): string {
  if (!TOKEN_PATTERN.test(value)) {
    throw new Error(`invalid ${what} "${value}" for a NATS subject: expected ${TOKEN_PATTERN.source}`);
  }
  return value;
}

function chainToken(chain: string): string {
  if (!CHAIN_PATTERN.test(chain)) throw new Error(`invalid chain "${chain}": expected ${CHAIN_PATTERN.source}`);
  if (RESERVED_CHAIN_NAMES.has(chain)) throw new Error(`invalid chain "${chain}": the name is reserved`);
  return chain;
}

export function createSubjects(prefix: string): Subjects {
  assertPrefix(prefix);
  return {
    rawSegments: (chain) => `${prefix}.${chainToken(chain)}.raw.segments`,
    typedSegments: (chain) => `${prefix}.${chainToken(chain)}.typed.segments`,
    head: (chain) => `${prefix}.${chainToken(chain)}.head`,
    reorg: (chain) => `${prefix}.${chainToken(chain)}.events.reorg`,
    stored: (chain) => `${prefix}.${chainToken(chain)}.events.stored`,
    control: (service, verb) => `${prefix}.control.${token('service', service)}.${token('verb', verb)}`,
    deadLetter: (service) => `${prefix}.deadletter.${token('service', service)}`,
    analytics: (name) => `${prefix}.analytics.${token('analytics name', name)}`,
    analyticsUpdates: (name) => `${prefix}.analytics.${token('analytics name', name)}.updates`,
    catalogCommits: (namespace, table) =>
      `${prefix}.catalog.${token('namespace', namespace)}.${token('table', table)}.commits`,
  };
}

/** The subjects each stream captures (`*` stands for the chain, service or table). */
export function streamSubjects(prefix: string): Record<keyof StreamNames, string[]> {
  return {
    raw: [`${prefix}.*.raw.segments`],
    typed: [`${prefix}.*.typed.segments`],
    events: [`${prefix}.*.events.reorg`, `${prefix}.*.events.stored`, `${prefix}.catalog.*.*.commits`],
    deadLetter: [`${prefix}.deadletter.*`],
    analytics: [`${prefix}.analytics.*`],
  };
}

export function createStreamNames(prefix: string): StreamNames {
  const base = prefix.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return { raw: `${base}_RAW`, typed: `${base}_TYPED`, events: `${base}_EVENTS`, deadLetter: `${base}_DEADLETTER`, analytics: `${base}_ANALYTICS` };
}

/** True when some concrete subject matches both patterns (NATS `*` and `>` wildcards). */
export function subjectsOverlap(a: string, b: string): boolean {
  const as = a.split('.');
  const bs = b.split('.');
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    const x = as[i];
    const y = bs[i];
    if (x === '>' || y === '>') return x !== undefined && y !== undefined;
    if (x === undefined || y === undefined) return false;
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
  return true;
}
