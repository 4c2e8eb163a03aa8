import { join } from 'node:path';
import { publishDurable, StoredMessage, type Bus, type Stored } from '@chainlake/bus';
import type { ManifestFile } from '@chainlake/lake';
import type { ServiceContext } from '@chainlake/service';

/**
 * Publishes `stored` announcements. They are notifications: the data is already durable when one is sent, so a
 * failed publish is logged and counted, never retried and never fails the write.
 */
export function storedAnnouncer(bus: Bus, ctx: Pick<ServiceContext<unknown>, 'log' | 'metrics'>): (message: Stored) => Promise<void> {
  const failures = ctx.metrics.counter('stored_publish_failures_total', 'Stored announcements that could not be published');
  return async (message) => {
    try {
      await publishDurable(bus, bus.subjects.stored(message.chain), StoredMessage, message);
    } catch (err) {
      failures.inc();
      ctx.log.warn({ err: String(err), tier: message.tier, dataset: message.dataset, from: message.from, to: message.to }, 'stored announcement failed');
    }
  };
}

/** One announcement per contiguous run of the Parquet files a flush wrote; paths relative to the warehouse. */
export function coldAnnouncements(chain: string, namespace: string, dataset: string, files: readonly ManifestFile[]): Stored[] {
  const out: Stored[] = [];
  for (const file of [...files].sort((a, b) => a.start - b.start)) {
    const path = join(namespace, dataset, file.path);
    const last = out[out.length - 1];
    if (last && file.start <= last.to + 1) {
      last.to = Math.max(last.to, file.end);
      last.rows += file.rows;
      last.files!.push(path);
    } else {
      out.push({ v: 1, chain, tier: 'cold', dataset, from: file.start, to: file.end, rows: file.rows, files: [path] });
    }
  }
  return out;
}
