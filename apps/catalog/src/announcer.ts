import { CommitMessage, publishDurable, type Bus, type Commit } from '@chainlake/bus';
import type { Logger } from 'pino';
import type { Metrics } from '@chainlake/service';
import type { Announcer } from './catalog.js';
import type { CatalogStore, PendingAnnouncement } from './store.js';

const RETRY_BATCH = 50;

/**
 * Publishes commit announcements from the outbox table: right after their commit, and again every
 * `retryMs` for any that failed (NATS down, catalog killed in between). JetStream drops a re-publish of the
 * same `<table uuid>:<snapshot id>` within its duplicate window, so a retry racing a late success is harmless.
 */
export class CommitAnnouncer implements Announcer {
  private readonly published;
  private readonly failed;
  private readonly pending;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly store: CatalogStore,
    private readonly log: Logger,
    metrics: Metrics,
    private readonly retryMs: number,
  ) {
    this.published = metrics.counter('announcements_published_total', 'Commit announcements published on NATS');
    this.failed = metrics.counter('announcements_failed_total', 'Attempts to publish a commit announcement that failed (retried later)');
    this.pending = metrics.gauge('announcements_pending', 'Commit announcements not yet published');
  }

  announce(pending: PendingAnnouncement[]): void {
    if (pending.length === 0) return;
    const run = (async () => {
      for (const announcement of pending) {
        if (!(await this.publish(this.store, announcement))) break; // keep the rest in order for the retry loop
      }
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  /** Starts the retry loop. */
  start(): void {
    const loop = async (): Promise<void> => {
      try {
        await this.retryPending();
      } catch (err) {
        this.log.warn({ err }, 'retrying commit announcements failed');
      }
      this.timer = setTimeout(() => void loop(), this.retryMs);
    };
    this.timer = setTimeout(() => void loop(), this.retryMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Publishes what is still unpublished after `retryMs`; returns how many went out. */
  async retryPending(): Promise<number> {
    const sent = await this.store.transaction(async (tx) => {
      let sent = 0;
      for (const announcement of await tx.claimPendingAnnouncements(this.retryMs, RETRY_BATCH)) {
        if (!(await this.publish(tx, announcement))) break;
        sent++;
      }
      return sent;
    });
    this.pending.set(await this.store.countPendingAnnouncements());
    return sent;
  }

  private async publish(store: CatalogStore, announcement: PendingAnnouncement): Promise<boolean> {
    try {
      await publishDurable(this.bus, announcement.subject, CommitMessage, announcement.payload as Commit, announcement.msgId);
    } catch (err) {
      this.failed.inc();
      this.log.warn({ err, subject: announcement.subject, msgId: announcement.msgId }, 'commit announcement not published; will retry');
      await store.markAnnounceFailed(announcement.id, (err as Error).message).catch(() => undefined);
      return false;
    }
    this.published.inc();
    await store.markAnnounced(announcement.id).catch((err: unknown) => this.log.warn({ err }, 'could not mark a commit announcement published'));
    return true;
  }
}
