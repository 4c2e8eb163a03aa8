export interface Range { start: number; end: number }

/** Parts of `range` not inside any of `covered` (sorted, merged), in order. */
export function subtractRanges(range: Range, covered: readonly Range[]): Range[] {
  const out: Range[] = [];
  let cursor = range.start;
  for (const c of covered) {
    if (c.end < cursor) continue;
    if (c.start > range.end) break;
    if (c.start > cursor) out.push({ start: cursor, end: c.start - 1 });
    cursor = Math.max(cursor, c.end + 1);
    if (cursor > range.end) return out;
  }
  if (cursor <= range.end) out.push({ start: cursor, end: range.end });
  return out;
}

/** Sorted union of ranges, adjacent ones joined. */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}
