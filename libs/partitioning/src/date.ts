const MICROS_PER_DAY = 86_400_000_000n;
const MS_PER_DAY = 86_400_000;
// Days since the epoch of 0000-01-01 and 9999-12-31, the dates a YYYY-MM-DD path can name
// (setUTCFullYear because Date.UTC maps the years 0–99 to 1900–1999).
const FIRST_DAY = BigInt(new Date(0).setUTCFullYear(0, 0, 1) / MS_PER_DAY);
const LAST_DAY = BigInt(new Date(0).setUTCFullYear(9999, 11, 31) / MS_PER_DAY);

/** The UTC date partition (`date=YYYY-MM-DD`) of a timestamp in microseconds since the epoch. */
export function datePartition(timestampMicros: bigint | number): string {
  let micros: bigint;
  if (typeof timestampMicros === 'bigint') {
    micros = timestampMicros;
  } else if (typeof timestampMicros === 'number' && Number.isSafeInteger(timestampMicros)) {
    micros = BigInt(timestampMicros);
  } else {
    throw new Error(`timestamp must be an integer number of microseconds, got ${String(timestampMicros)}`);
  }
  // Floor division, so that instants before the epoch fall on the previous day.
  let days = micros / MICROS_PER_DAY;
  if (micros % MICROS_PER_DAY < 0n) days -= 1n;
  if (days < FIRST_DAY || days > LAST_DAY) {
    throw new Error(`timestamp ${micros}µs is outside the years 0000 to 9999 that a date partition can name`);
  }
  return `date=${formatDay(Number(days))}`;
}

function formatDay(days: number): string {
  const date = new Date(days * MS_PER_DAY);
  const year = String(date.getUTCFullYear()).padStart(4, '0');
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  const day = String(date.getUTCDate()).padStart(2, '0');
  return `${year}-${month}-${day}`;
}

/** True when `text` is a real calendar date written YYYY-MM-DD. */
export function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
