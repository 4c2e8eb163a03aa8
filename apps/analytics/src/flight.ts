import { Float64, Int32, Int64, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import type { WindowResult } from '@chainlake/aggregation';
import { FlightError, type FlightHandlers } from '@chainlake/flight';

type Cell = string | number | boolean | null;

/** A column of numbers where every value is one (Float64), else of text (Utf8), so nothing is rounded. */
function column(values: Cell[]): Vector {
  if (values.every((v) => v === null || typeof v === 'number')) return vectorFromArray(values as (number | null)[], new Float64());
  return vectorFromArray(values.map((v) => (v === null ? null : String(v))), new Utf8());
}

/** Window results as one Arrow table: window bounds, revision, rows, then group and value columns. */
export function resultsTable(results: WindowResult[]): Table {
  const groupNames = [...new Set(results.flatMap((r) => Object.keys(r.group)))];
  const valueNames = [...new Set(results.flatMap((r) => Object.keys(r.values)))];
  const columns: Record<string, Vector> = {
    window_start: vectorFromArray(results.map((r) => r.windowStart), new Utf8()),
    window_end: vectorFromArray(results.map((r) => r.windowEnd), new Utf8()),
    revision: vectorFromArray(results.map((r) => r.revision), new Int32()),
    rows: vectorFromArray(results.map((r) => BigInt(r.rows)), new Int64()),
  };
  for (const name of groupNames) columns[name] = column(results.map((r) => r.group[name] ?? null));
  for (const name of valueNames) columns[name] = column(results.map((r) => r.values[name] ?? null));
  return new Table(columns);
}

/** DoGet with the ticket `{"analytics":"<name>"}` streams that definition's latest results. */
export function resultsFlightHandlers(resultsOf: (name: string) => WindowResult[] | undefined): FlightHandlers {
  return {
    async doGet(ticket) {
      let name: unknown;
      try {
        name = (JSON.parse(ticket.toString('utf8')) as { analytics?: unknown }).analytics;
      } catch {
        throw FlightError.invalidArgument('ticket is not JSON; expected {"analytics":"<definition name>"}');
      }
      if (typeof name !== 'string') throw FlightError.invalidArgument('ticket has no "analytics" string; expected {"analytics":"<definition name>"}');
      const results = resultsOf(name);
      if (!results) throw FlightError.notFound(`no definition named "${name}"`);
      const table = resultsTable(results);
      return { schema: table.schema, batches: table.batches };
    },
  };
}
