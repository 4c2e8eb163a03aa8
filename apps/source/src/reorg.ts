/**
 * Remembers the hashes of the unfinalized blocks this source announced and finds the highest
 * one that is still canonical when the chain has reorganised under them.
 */
export class ReorgTracker {
  private readonly hashes = new Map<number, string>();

  constructor(private readonly finalized: () => number) {}

  remember(from: number, to: number, hashOf: (n: number) => string): void {
    const final = this.finalized();
    for (let n = Math.max(from, final + 1); n <= to; n++) this.hashes.set(n, hashOf(n));
    for (const n of this.hashes.keys()) if (n <= final) this.hashes.delete(n);
  }

  /** The fork point (highest announced block still canonical) if any announced block changed. */
  check(hashOf: (n: number) => string): number | undefined {
    const heights = [...this.hashes.keys()].sort((a, b) => a - b);
    const firstChanged = heights.find((n) => hashOf(n) !== this.hashes.get(n));
    if (firstChanged === undefined) return undefined;
    for (const n of heights) if (n >= firstChanged) this.hashes.delete(n);
    return firstChanged - 1;
  }
}
