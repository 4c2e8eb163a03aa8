/**
 * Iceberg partition transforms (table spec "Partition Transforms", Appendix B for bucket hashing).
 *
 * Values travel as: int, date (days) → number; long, time, timestamp(tz) (µs), timestamp(tz)_ns (ns)
 * → number or bigint; decimal → bigint unscaled value; string and uuid → string; binary and fixed →
 * Uint8Array; boolean → boolean. Null in, null out.
 */

export type IcebergTransform =
  | { kind: 'identity' }
  | { kind: 'bucket'; buckets: number }
  | { kind: 'truncate'; width: number }
  | { kind: 'year' }
  | { kind: 'month' }
  | { kind: 'day' }
  | { kind: 'hour' }
  | { kind: 'void' };

export type TransformValue = number | bigint | string | boolean | Uint8Array | null;

const PARAMETERLESS = new Set(['identity', 'year', 'month', 'day', 'hour', 'void']);
const INTEGERS = new Set(['int', 'long']);
const DATES = new Set(['date']);
const MICRO_TIMESTAMPS = new Set(['timestamp', 'timestamptz']);
const NANO_TIMESTAMPS = new Set(['timestamp_ns', 'timestamptz_ns']);
const BUCKET_SOURCES = new Set(['int', 'long', 'date', 'time', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns', 'string', 'uuid', 'binary']);

const MICROS_PER_HOUR = 3_600_000_000n;
const MICROS_PER_DAY = 86_400_000_000n;
const MS_PER_DAY = 86_400_000;

/** Parses `identity`, `bucket[N]`, `truncate[W]`, `year`, `month`, `day`, `hour` or `void`. */
export function parseTransform(text: string): IcebergTransform {
  if (PARAMETERLESS.has(text)) return { kind: text } as IcebergTransform;
  const match = /^(bucket|truncate)\[(\d+)\]$/.exec(text);
  if (match) {
    const n = Number(match[2]);
    if (!Number.isSafeInteger(n) || n < 1 || n > 2_147_483_647) {
      throw new Error(`invalid transform '${text}': the parameter must be an integer from 1 to 2147483647`);
    }
    return match[1] === 'bucket' ? { kind: 'bucket', buckets: n } : { kind: 'truncate', width: n };
  }
  throw new Error(`invalid transform '${text}': expected identity, bucket[N], truncate[W], year, month, day, hour or void`);
}

export function formatTransform(transform: IcebergTransform): string {
  switch (transform.kind) {
    case 'bucket':
      return `bucket[${transform.buckets}]`;
    case 'truncate':
      return `truncate[${transform.width}]`;
    default:
      return transform.kind;
  }
}

/** The Iceberg type a transform produces from `sourceType`; throws when the transform cannot take that type. */
export function transformResultType(transform: IcebergTransform, sourceType: string): string {
  const refuse = () => new Error(`transform ${formatTransform(transform)} cannot apply to type ${sourceType}`);
  switch (transform.kind) {
    case 'identity':
    case 'void':
      return sourceType;
    case 'bucket':
      if (!BUCKET_SOURCES.has(sourceType) && !isDecimal(sourceType) && !isFixed(sourceType)) throw refuse();
      return 'int';
    case 'truncate':
      if (!INTEGERS.has(sourceType) && sourceType !== 'string' && sourceType !== 'binary' && !isDecimal(sourceType)) throw refuse();
      return sourceType;
    case 'year':
    case 'month':
    case 'day':
      if (!DATES.has(sourceType) && !MICRO_TIMESTAMPS.has(sourceType) && !NANO_TIMESTAMPS.has(sourceType)) throw refuse();
      return transform.kind === 'day' ? 'date' : 'int';
    case 'hour':
      if (!MICRO_TIMESTAMPS.has(sourceType) && !NANO_TIMESTAMPS.has(sourceType)) throw refuse();
      return 'int';
  }
}

/** Applies a transform to one value of `sourceType` (see the value forms above). */
export function applyTransform(transform: IcebergTransform, sourceType: string, value: TransformValue): TransformValue {
  transformResultType(transform, sourceType);
  if (value === null || value === undefined) return null;
  switch (transform.kind) {
    case 'identity':
      return value;
    case 'void':
      return null;
    case 'bucket':
      return (bucketHash(sourceType, value) & 0x7fffffff) % transform.buckets;
    case 'truncate':
      return truncateValue(sourceType, transform.width, value);
    case 'day':
      return epochDay(sourceType, value);
    case 'year':
    case 'month': {
      const date = new Date(epochDay(sourceType, value) * MS_PER_DAY);
      const years = date.getUTCFullYear() - 1970;
      return transform.kind === 'year' ? years : years * 12 + date.getUTCMonth();
    }
    case 'hour':
      return Number(floorDiv(toMicros(sourceType, value), MICROS_PER_HOUR));
  }
}

/** The 32-bit hash of a value that bucket[N] uses (Appendix B): signed, like Java's int. */
export function bucketHash(sourceType: string, value: Exclude<TransformValue, null>): number {
  if (INTEGERS.has(sourceType) || DATES.has(sourceType) || sourceType === 'time' || MICRO_TIMESTAMPS.has(sourceType)) {
    return murmur3Hash32(longBytes(toBigInt(value, sourceType)));
  }
  if (NANO_TIMESTAMPS.has(sourceType)) return murmur3Hash32(longBytes(toMicros(sourceType, value)));
  if (sourceType === 'string') return murmur3Hash32(new TextEncoder().encode(expectString(value, sourceType)));
  if (sourceType === 'uuid') return murmur3Hash32(uuidBytes(expectString(value, sourceType)));
  if (sourceType === 'binary' || isFixed(sourceType)) return murmur3Hash32(expectBytes(value, sourceType));
  if (isDecimal(sourceType)) return murmur3Hash32(minimalTwosComplement(toBigInt(value, sourceType)));
  throw new Error(`bucket cannot hash type ${sourceType}`);
}

/** Murmur3 32-bit hash, x86 variant, as a signed 32-bit integer. */
export function murmur3Hash32(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed | 0;
  const blocks = bytes.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const at = i << 2;
    let k = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks << 2;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = bytes[tail]!;
    if (rest > 1) k ^= bytes[tail + 1]! << 8;
    if (rest > 2) k ^= bytes[tail + 2]! << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Hive-style partition path `name=value/…` as Iceberg writers name data directories: dates and
 * hours in human form (day → 2024-05-01, month → 2024-05, year → 2024, hour → 2024-05-01-13),
 * null as `null`, other values URL-encoded. `sourceTypes` (by source field id) renders identity
 * dates and timestamps in human form too.
 */
export function partitionPath(
  spec: { fields: readonly { name: string; transform: string; 'source-id': number }[] },
  values: Record<string, TransformValue | undefined>,
  sourceTypes: ReadonlyMap<number, string> = new Map(),
): string {
  return spec.fields
    .map((field) => {
      const value = values[field.name];
      const text = value === null || value === undefined ? 'null' : humanValue(parseTransform(field.transform), sourceTypes.get(field['source-id']), value);
      return `${encodeURIComponent(field.name)}=${encodeURIComponent(text)}`;
    })
    .join('/');
}

function humanValue(transform: IcebergTransform, sourceType: string | undefined, value: Exclude<TransformValue, null>): string {
  switch (transform.kind) {
    case 'year':
      return String(1970 + Number(value));
    case 'month': {
      const months = Number(value);
      const year = 1970 + Math.floor(months / 12);
      return `${pad(year, 4)}-${pad((((months % 12) + 12) % 12) + 1, 2)}`;
    }
    case 'day':
      return isoDate(Number(value));
    case 'hour': {
      const hours = Number(value);
      return `${isoDate(Math.floor(hours / 24))}-${pad(((hours % 24) + 24) % 24, 2)}`;
    }
    case 'identity':
    case 'truncate':
      if (sourceType === 'date') return isoDate(Number(value));
      if (sourceType !== undefined && MICRO_TIMESTAMPS.has(sourceType)) {
        const micros = toBigInt(value, sourceType);
        const iso = new Date(Number(floorDiv(micros, 1000n))).toISOString().replace('Z', '');
        return `${iso}${pad(Number(((micros % 1000n) + 1000n) % 1000n), 3)}${sourceType === 'timestamptz' ? 'Z' : ''}`;
      }
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      return String(value);
    default:
      return String(value);
  }
}

function truncateValue(sourceType: string, width: number, value: Exclude<TransformValue, null>): TransformValue {
  if (INTEGERS.has(sourceType) || isDecimal(sourceType)) {
    if (typeof value === 'bigint') {
      const w = BigInt(width);
      return value - (((value % w) + w) % w);
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`truncate of ${sourceType} needs an integer, got ${String(value)}`);
    return value - (((value % width) + width) % width);
  }
  if (sourceType === 'string') return truncateCodePoints(expectString(value, sourceType), width);
  return expectBytes(value, sourceType).subarray(0, width);
}

/** The first `length` code points of a string (never splits a surrogate pair). */
export function truncateCodePoints(text: string, length: number): string {
  let end = 0;
  for (let points = 0; points < length && end < text.length; points++) {
    const code = text.charCodeAt(end);
    end += code >= 0xd800 && code <= 0xdbff && end + 1 < text.length ? 2 : 1;
  }
  return text.slice(0, end);
}

function epochDay(sourceType: string, value: Exclude<TransformValue, null>): number {
  if (DATES.has(sourceType)) return Number(toBigInt(value, sourceType));
  return Number(floorDiv(toMicros(sourceType, value), MICROS_PER_DAY));
}

function toMicros(sourceType: string, value: Exclude<TransformValue, null>): bigint {
  const v = toBigInt(value, sourceType);
  return NANO_TIMESTAMPS.has(sourceType) ? floorDiv(v, 1000n) : v;
}

function toBigInt(value: Exclude<TransformValue, null>, sourceType: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new Error(`a ${sourceType} value must be an integer (number or bigint), got ${String(value)}`);
}

function expectString(value: Exclude<TransformValue, null>, sourceType: string): string {
  if (typeof value !== 'string') throw new Error(`a ${sourceType} value must be a string, got ${typeof value}`);
  return value;
}

function expectBytes(value: Exclude<TransformValue, null>, sourceType: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Error(`a ${sourceType} value must be a Uint8Array, got ${typeof value}`);
  return value;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

function longBytes(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt.asIntN(64, value), true);
  return bytes;
}

function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`invalid uuid '${uuid}'`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** Two's complement big-endian bytes of an integer, as few as hold it. */
export function minimalTwosComplement(value: bigint): Uint8Array {
  let length = 1;
  while (value < -(1n << BigInt(8 * length - 1)) || value >= 1n << BigInt(8 * length - 1)) length++;
  const bytes = new Uint8Array(length);
  let v = BigInt.asUintN(8 * length, value);
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return bytes;
}

function isDecimal(type: string): boolean {
  return /^decimal\(\s*\d+\s*,\s*\d+\s*\)$/.test(type);
}

function isFixed(type: string): boolean {
  return /^fixed\[\d+\]$/.test(type);
}

function isoDate(days: number): string {
  const date = new Date(days * MS_PER_DAY);
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
