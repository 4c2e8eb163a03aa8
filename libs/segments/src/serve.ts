import { FlightError, type FlightHandlers } from '@chainlake/flight';
import type { Spool } from '@chainlake/spool';
import { parseSegmentTicket } from './naming.js';

/**
 * Flight DoGet over a spool: a segment ticket streams that dataset's batches. Every refused
 * ticket is reported to `onRejected` (for a metric) before the error goes back to the client.
 */
export function spoolFlightHandlers(spool: Spool, service: string, onRejected: (error: FlightError) => void = () => undefined): FlightHandlers {
  const get = (ticket: Buffer) => {
    const { key, dataset } = parseSegmentTicket(ticket);
    const stored = spool.get(key, dataset);
    if (stored) return stored;
    const known = spool.datasets(key);
    throw FlightError.notFound(
      known.length > 0
        ? `segment ${key} has no dataset "${dataset}" (has: ${known.join(', ')})`
        : `segment ${key} is not in the ${service} spool (released or never produced); request a re-production`,
    );
  };
  return {
    async doGet(ticket) {
      try {
        const stored = get(ticket);
        // Held until the call's last write has completed: the spool reuses the segment's memory after that.
        return { schema: stored.schema, batches: stored.batches(), onDone: stored.done };
      } catch (err) {
        if (err instanceof FlightError) onRejected(err);
        throw err;
      }
    },
  };
}
