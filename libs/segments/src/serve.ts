import { FlightError, type FlightHandlers } from '@chainlake/flight';
import type { Spool } from '@chainlake/spool';
import { parseSegmentTicket } from './naming.js';

/** Flight DoGet over a spool: a segment ticket streams that dataset's batches. */
export function spoolFlightHandlers(spool: Spool, service: string): FlightHandlers {
  return {
    async doGet(ticket) {
      const { key, dataset } = parseSegmentTicket(ticket);
      const stored = spool.get(key, dataset);
      if (!stored) {
        const known = spool.datasets(key);
        throw FlightError.notFound(
          known.length > 0
            ? `segment ${key} has no dataset "${dataset}" (has: ${known.join(', ')})`
            : `segment ${key} is not in the ${service} spool (released or never produced); request a re-production`,
        );
      }
      return { schema: stored.schema, batches: stored.batches() };
    },
  };
}
