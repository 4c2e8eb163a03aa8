/**
 * Hands segments on in block order. Transformers decode concurrently and JetStream redelivers an
 * unacked segment only after its ack wait, so segments arrive out of order — by far more than any
 * sensible allowed lateness after a restart. Window results depend on event-time order, so a
 * segment waits here until the one before it has been applied; after `maxWaitMs` with a gap, the
 * gap is skipped (reported) rather than waited for forever.
 */
export class BlockOrder<T extends { from: number; to: number }> {
  private readonly waiting = new Map<number, { item: T; since: number }>();

  constructor(
    /** The next block to apply; undefined until the first segment arrives. */
    public next: number | undefined,
    private readonly maxWaitMs: number,
  ) {}

  /** Queues a segment, replacing a waiting copy of the same range (a redelivery). */
  offer(item: T, now = Date.now()): void {
    this.waiting.set(item.from, { item, since: this.waiting.get(item.from)?.since ?? now });
  }

  /** Segments entirely below the next block were applied already (a re-announcement). */
  isBehind(item: { to: number }): boolean {
    return this.next !== undefined && item.to < this.next;
  }

  /** Starts again from `block` (after a reorg voided the blocks from there on). */
  rewind(block: number): void {
    if (this.next === undefined || block < this.next) this.next = block;
  }

  /** The segments that can be applied now, in order, and the gaps given up on. */
  take(now = Date.now()): { ready: T[]; skipped: Array<{ from: number; to: number }> } {
    const ready: T[] = [];
    const skipped: Array<{ from: number; to: number }> = [];
    for (;;) {
      let entry = this.next === undefined ? undefined : this.waiting.get(this.next);
      if (!entry) {
        const oldest = [...this.waiting.values()].sort((a, b) => a.item.from - b.item.from)[0];
        if (!oldest) break;
        const first = this.next === undefined;
        if (!first && now - oldest.since < this.maxWaitMs) break;
        if (!first) skipped.push({ from: this.next!, to: oldest.item.from - 1 });
        entry = oldest;
      }
      this.waiting.delete(entry.item.from);
      ready.push(entry.item);
      this.next = entry.item.to + 1;
    }
    return { ready, skipped };
  }

  /** Removes and returns every waiting segment (when handing the work over). */
  drain(): T[] {
    const items = [...this.waiting.values()].map((e) => e.item);
    this.waiting.clear();
    return items;
  }

  get size(): number {
    return this.waiting.size;
  }
}
