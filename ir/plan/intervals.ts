/** Closed integer intervals [lo, hi] and the few operations planning needs on sorted unions of them. */
export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

/** Sorts and merges overlapping or adjacent intervals. */
export function union(intervals: readonly Interval[]): Interval[] {
  if (intervals.length <= 1) return intervals.filter((x) => x.lo <= x.hi);
  const sorted = intervals.filter((x) => x.lo <= x.hi).sort((a, b) => a.lo - b.lo);
  const merged: Interval[] = [];
  for (const x of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && x.lo <= last.hi + 1) merged[merged.length - 1] = { lo: last.lo, hi: Math.max(last.hi, x.hi) };
    else merged.push(x);
  }
  return merged;
}

export function totalLength(intervals: readonly Interval[]): number {
  return intervals.reduce((n, x) => n + Math.max(0, x.hi - x.lo + 1), 0);
}
