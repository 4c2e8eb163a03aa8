import { FlightError } from '@chainlake/flight';

export interface SegmentRange { chain: string; from: number; to: number }

const KEY = /^([a-z0-9_-]+):(\d+)-(\d+)$/;

export const segmentKey = ({ chain, from, to }: SegmentRange): string => `${chain}:${from}-${to}`;

export function parseSegmentKey(key: string): SegmentRange {
  const match = KEY.exec(key);
  if (!match) throw new Error(`segment "${key}" is not of the form <chain>:<from>-<to>`);
  const from = Number(match[2]);
  const to = Number(match[3]);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from > to) {
    throw new Error(`segment "${key}" has an invalid block range`);
  }
  return { chain: match[1], from, to };
}

export const segmentTicket = (key: string, dataset: string): string => JSON.stringify({ segment: key, dataset });

export const segmentTickets = (key: string, datasets: Iterable<string>): Record<string, string> =>
  Object.fromEntries([...datasets].map((d) => [d, segmentTicket(key, d)]));

/** Reads a Flight ticket `{"segment":"<chain>:<from>-<to>","dataset":"<name>"}`; a bad one is INVALID_ARGUMENT. */
export function parseSegmentTicket(ticket: Buffer): { key: string; dataset: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(ticket.toString('utf8'));
  } catch {
    throw FlightError.invalidArgument(`ticket is not JSON: ${JSON.stringify(ticket.toString('utf8').slice(0, 80))}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw FlightError.invalidArgument('ticket must be a JSON object');
  const { segment, dataset } = parsed as Record<string, unknown>;
  if (typeof segment !== 'string') throw FlightError.invalidArgument('ticket has no "segment" string');
  if (typeof dataset !== 'string') throw FlightError.invalidArgument('ticket has no "dataset" string');
  try {
    parseSegmentKey(segment);
  } catch (err) {
    throw FlightError.invalidArgument(`ticket ${(err as Error).message}`);
  }
  return { key: segment, dataset };
}
