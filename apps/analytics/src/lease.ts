import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

interface LeaseLog {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

/**
 * Leadership among replicas through one key of a NATS KV bucket, without trusting clocks across
 * machines. The holder renews the key every `leaseMs / 4` by compare-and-set on its last revision.
 * A candidate takes the key over (compare-and-set on the revision it saw) only after watching that
 * revision stay unchanged for `leaseMs` on its own clock, or at once when the key is absent (released).
 *
 * The holder stops trusting the lease `leaseMs / 2` after the start of its last successful renewal
 * (`held` turns false): a candidate cannot take over before `leaseMs` after that instant, so the
 * other half is the margin for side effects already under way (a checkpoint being written).
 * A renewal refused because someone else holds the key ends the lease for good (`lost` resolves).
 */
export class Lease {
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private revision: number | undefined;
  private renewedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private markLost: (reason: string) => void = () => undefined;
  /** Resolves with the reason once a lease held is lost (not on release). */
  lost: Promise<string> = new Promise(() => undefined);

  constructor(
    private readonly kv: KV,
    private readonly key: string,
    private readonly leaseMs: number,
    private readonly log: LeaseLog,
  ) {}

  /** True while the lease is held and renewed recently enough for side effects. */
  get held(): boolean {
    return this.revision !== undefined && performance.now() - this.renewedAt < this.leaseMs / 2;
  }

  private value(): string {
    return JSON.stringify({ holder: this.holder, at: new Date().toISOString() });
  }

  /** Waits until this replica holds the lease; false if `signal` aborted first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    let seen: number | undefined;
    let seenSince = 0;
    while (!signal.aborted) {
      const started = performance.now();
      try {
        const entry = await this.kv.get(this.key);
        let revision: number | undefined;
        if (!entry || entry.operation !== 'PUT') {
          revision = await this.kv.create(this.key, this.value()).catch(() => undefined);
        } else if (entry.revision !== seen) {
          seen = entry.revision;
          seenSince = started;
        } else if (started - seenSince >= this.leaseMs) {
          this.log.info({ previous: entry.string() }, 'lease not renewed in time; taking over');
          revision = await this.kv.update(this.key, this.value(), entry.revision).catch(() => undefined);
        }
        if (revision !== undefined) {
          this.hold(revision, started);
          return true;
        }
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'lease check failed; retrying');
      }
      await sleep(Math.min(this.leaseMs / 4, 1000), undefined, { signal }).catch(() => undefined);
    }
    return false;
  }

  private hold(revision: number, at: number): void {
    this.revision = revision;
    this.renewedAt = at;
    this.lost = new Promise((resolve) => (this.markLost = resolve));
    this.timer = setInterval(() => void this.renew(), this.leaseMs / 4);
  }

  private async renew(): Promise<void> {
    const revision = this.revision;
    if (revision === undefined) return;
    const started = performance.now();
    try {
      const next = await this.kv.update(this.key, this.value(), revision);
      if (this.revision === revision) {
        this.revision = next;
        this.renewedAt = started;
      }
      return;
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) {
        return this.end(`lease taken over by another replica: ${message}`);
      }
      if (performance.now() - this.renewedAt >= this.leaseMs) return this.end(`lease not renewed for ${this.leaseMs} ms: ${message}`);
      this.log.warn({ err: message }, 'lease renewal failed; retrying');
    }
  }

  private end(reason: string): void {
    clearInterval(this.timer);
    this.revision = undefined;
    this.markLost(reason);
  }

  /** Gives the lease up (deletes the key if still ours) so that a standby takes over at once. */
  async release(): Promise<void> {
    const revision = this.revision;
    clearInterval(this.timer);
    this.revision = undefined;
    if (revision === undefined) return;
    await this.kv.delete(this.key, { previousSeq: revision }).catch((err: Error) => this.log.warn({ err: err.message }, 'lease release failed'));
  }
}
