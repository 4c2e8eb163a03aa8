import { mergeRanges, subtractRanges, type Range } from './ranges.js';

/**
 * The chain's finalized height as the archiver knows it: the highest any head message reported (finality never
 * goes back). Unknown until the first head message arrives; nothing is written before that.
 */
export class FinalityView {
  private height: number | undefined;
  private resolveKnown!: () => void;
  /** Resolves with the first head message. */
  readonly known: Promise<void> = new Promise((resolve) => (this.resolveKnown = resolve));

  observe(finalized: number): void {
    if (this.height !== undefined && finalized <= this.height) return;
    this.height = finalized;
    this.resolveKnown();
  }

  get finalized(): number | undefined {
    return this.height;
  }
}

/** Where blocks [from, to] go: those at or below `finalized` to Parquet, those above to the hot tier. */
export function splitAtFinalized(range: Range, finalized: number): { cold?: Range; hot?: Range } {
  return {
    cold: range.start <= finalized ? { start: range.start, end: Math.min(range.end, finalized) } : undefined,
    hot: range.end > finalized ? { start: Math.max(range.start, finalized + 1), end: range.end } : undefined,
  };
}

/**
 * The blocks some reorg replaced: (forkPoint, head] of every reorg event. A segment produced before a reorg may
 * reach the archiver after it (redelivery, lag), still carrying the replaced blocks; the archiver never takes
 * such blocks from a segment, only from a re-production made after it learned of the reorg.
 */
export class ReorgedBlocks {
  private ranges: Range[] = [];

  add(forkPoint: number, head: number): void {
    if (head > forkPoint) this.ranges = mergeRanges([...this.ranges, { start: forkPoint + 1, end: head }]);
  }

  /** `range` cut into consecutive pieces, each wholly inside (reorged) or outside the reorged blocks. */
  split(range: Range): Array<Range & { reorged: boolean }> {
    const outside = subtractRanges(range, this.ranges);
    const inside = subtractRanges(range, outside);
    return [...outside.map((r) => ({ ...r, reorged: false })), ...inside.map((r) => ({ ...r, reorged: true }))].sort((a, b) => a.start - b.start);
  }

  get size(): number {
    return this.ranges.length;
  }
}
