import { hostname } from 'node:os';
import { z } from 'zod';

/** Bad configuration; the message names every bad variable and says what was expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** The names of the bad variables. */
    readonly variables: string[],
  ) {
    super(message);
  }
}

type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

/**
 * An environment variable: unset or empty means `fallback` (or an error saying it is required), anything else
 * goes through `parse`.
 */
function variable<T>(parse: (raw: string) => Parsed<T>, fallback: { value: T } | undefined): z.ZodType<T> {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const text = raw?.trim();
      if (text === undefined || text === '') {
        if (fallback) return fallback.value;
        ctx.issues.push({ code: 'custom', message: 'required, not set', input: raw });
        return z.NEVER;
      }
      const parsed = parse(text);
      if (parsed.ok) return parsed.value;
      ctx.issues.push({ code: 'custom', message: `expected ${parsed.expected}, got "${raw}"`, input: raw });
      return z.NEVER;
    });
}

const withDefault = <T>(def: T | undefined): { value: T } | undefined => (def === undefined ? undefined : { value: def });

function parseInt(raw: string, min: number, max: number, expected: string): Parsed<number> {
  const n = Number(raw);
  return /^[+-]?\d+$/.test(raw) && Number.isSafeInteger(n) && n >= min && n <= max ? { ok: true, value: n } : { ok: false, expected };
}

function describeRange(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return `an integer ${min}-${max}`;
  if (min !== undefined) return `an integer ≥ ${min}`;
  if (max !== undefined) return `an integer ≤ ${max}`;
  return 'an integer';
}

function parseUrl(raw: string): Parsed<string> {
  return URL.canParse(raw) ? { ok: true, value: raw } : { ok: false, expected: 'a URL' };
}

const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false };

/** Schemas for environment variables; their errors read `expected …, got "…"`. */
export const env = {
  int(def?: number, opts: { min?: number; max?: number } = {}): z.ZodType<number> {
    const { min, max } = opts;
    const expected = describeRange(min, max);
    return variable((raw) => parseInt(raw, min ?? Number.MIN_SAFE_INTEGER, max ?? Number.MAX_SAFE_INTEGER, expected), withDefault(def));
  },
  /** 0 asks the OS for a free port. */
  port(def: number): z.ZodType<number> {
    return variable((raw) => parseInt(raw, 0, 65535, 'an integer 0-65535'), { value: def });
  },
  string(def?: string, opts: { pattern?: RegExp } = {}): z.ZodType<string> {
    const { pattern } = opts;
    return variable<string>(
      (raw) => (!pattern || pattern.test(raw) ? { ok: true, value: raw } : { ok: false, expected: `a value matching ${pattern.source}` }),
      withDefault(def),
    );
  },
  /** true/false, 1/0, yes/no (any case). */
  bool(def: boolean): z.ZodType<boolean> {
    return variable((raw) => {
      const value = BOOLEANS[raw.toLowerCase()];
      return value === undefined ? { ok: false, expected: 'true/false/1/0/yes/no' } : { ok: true, value };
    }, { value: def });
  },
  url(def?: string): z.ZodType<string> {
    return variable(parseUrl, withDefault(def));
  },
  enumOf<T extends string>(values: readonly T[], def?: T): z.ZodType<T> {
    return variable(
      (raw) => ((values as readonly string[]).includes(raw) ? { ok: true, value: raw as T } : { ok: false, expected: `one of ${values.join(', ')}` }),
      withDefault(def),
    );
  },
  optionalInt(): z.ZodType<number | undefined> {
    return variable<number | undefined>((raw) => parseInt(raw, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'an integer'), {
      value: undefined,
    });
  },
};

/** One NATS URL or several separated by commas. */
const natsServers = (def: string): z.ZodType<string> =>
  variable((raw) => {
    const urls = raw.split(',').map((s) => s.trim());
    return urls.every((u) => URL.canParse(u)) ? { ok: true, value: urls.join(',') } : { ok: false, expected: 'a URL or comma-separated URLs' };
  }, { value: def });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Variables every service reads. */
export const commonConfigShape = {
  CHAINLAKE_NATS_URL: natsServers('nats://127.0.0.1:4222'),
  /** Subject prefix; test runs use their own so they never share streams. */
  CHAINLAKE_PREFIX: env.string('chainlake', { pattern: /^[a-z][a-z0-9_]*$/ }),
  CHAINLAKE_CHAIN: env.string('synthetic', { pattern: /^[a-z0-9_-]+$/ }),
  /** The chain's numeric id, stored in every row's `chain_id`. */
  CHAINLAKE_CHAIN_ID: env.int(1337, { min: 1 }),
  CHAINLAKE_LOG_LEVEL: env.enumOf(LOG_LEVELS, 'info'),
  /** The address the HTTP and Flight servers bind to. */
  CHAINLAKE_HOST: env.string('127.0.0.1'),
  /** The host put in announced Flight locations; runService resolves '' to CHAINLAKE_HOST, or the host name when that is a wildcard address. */
  CHAINLAKE_ADVERTISE_HOST: env.string(''),
  CHAINLAKE_SHUTDOWN_TIMEOUT_MS: env.int(15_000, { min: 1 }),
};

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** CHAINLAKE_ADVERTISE_HOST, or else an address other machines can reach this one by. */
export function advertisedHost(config: { CHAINLAKE_HOST: string; CHAINLAKE_ADVERTISE_HOST: string }): string {
  if (config.CHAINLAKE_ADVERTISE_HOST !== '') return config.CHAINLAKE_ADVERTISE_HOST;
  return WILDCARD_HOSTS.has(config.CHAINLAKE_HOST) ? hostname() : config.CHAINLAKE_HOST;
}

/** Reads and validates the variables named by the keys of `shape`; throws one ConfigError naming every bad one. */
export function loadConfig<S extends z.ZodRawShape>(shape: S, environment: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const input = Object.fromEntries(Object.keys(shape).map((name) => [name, environment[name]]));
  const result = z.object(shape).safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(config)'), message: issue.message }));
  throw new ConfigError(
    problems.map((p) => `${p.variable}: ${p.message}`).join('; '),
    [...new Set(problems.map((p) => p.variable))],
  );
}
