import { consumerProgress, type Bus } from '@chainlake/bus';
import type { Spool } from '@chainlake/spool';

/**
 * Frees spooled segments once every durable consumer of their announcements has acked past them.
 * With no consumer at all nothing is freed: the spool fills and the producer waits.
 */
export function startSpoolReaper(
  bus: Bus,
  spool: Spool,
  stream: string,
  subject: string,
  log: { warn(o: object, m?: string): void },
  intervalMs = 500,
): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    consumerProgress(bus, stream, subject)
      .then((consumers) => {
        const floor = consumers.length === 0 ? -1 : Math.min(...consumers.map((c) => c.ackFloorSeq));
        return spool.releaseDone(floor);
      })
      .catch((err) => log.warn({ err: String(err) }, 'spool reaper could not read consumer progress'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
