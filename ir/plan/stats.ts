import { evaluateMask, pairCounter } from "../mask/evaluate.js";
import type { Binding } from "../pattern/binding.js";
import { boundValue, type RegionForm } from "../regions/region.js";
import { causalPairs, computedPairs, type BlockPlan, type PlanStats } from "./plan.js";

/**
 * The numbers a plan is judged by. Kept pairs are counted exactly: full segments by area; partial ones row
 * by row, from the regions' intervals when the regions are exact bounds (no restrictions), otherwise with
 * the compiled mask predicate over the segment's keys only.
 */
export function planStats(plan: BlockPlan, regions: RegionForm, binding: Binding, head: number, layer: number, headDim: number): PlanStats {
  const rowCount = exactRowCount(regions, binding);
  const counter = rowCount === undefined ? pairCounter(binding, head, layer) : undefined;
  let kept = 0;
  if (rowCount !== undefined) {
    // Pure bounds: count each row's kept keys directly from the regions.
    for (let row = 0; row < binding.sizes.Q; row++) kept += rowCount(row);
  } else for (const tile of plan.tiles) {
    const partial = tile.segments.filter((s) => !s.full);
    for (const s of tile.segments) if (s.full) kept += (tile.qEnd - tile.qStart) * (s.kEnd - s.kStart);
    if (partial.length === 0) continue;
    for (let row = tile.qStart; row < tile.qEnd; row++) {
      for (const s of partial) kept += counter?.(row, s.kStart, s.kEnd) ?? 0;
    }
  }
  const { computed, full } = computedPairs(plan);
  const causal = causalPairs(binding.sizes);
  const { Q, K, H } = binding.sizes;
  return {
    keptPairs: kept,
    causalPairs: causal,
    computedPairs: computed,
    fullPairs: full,
    density: kept / (Q * K),
    tileEfficiency: computed === 0 ? 1 : kept / computed,
    planSpeedup: computed === 0 ? Infinity : causal / computed,
    idealSpeedup: kept === 0 ? Infinity : causal / kept,
    flops: 4 * headDim * kept * H,
  };
}

/**
 * Kept keys of one row when the regions are pure bounds (the length of the union of their row intervals);
 * undefined when some region needs the predicate. Runs once per row, so it avoids allocating.
 */
function exactRowCount(regions: RegionForm, binding: Binding): ((row: number) => number) | undefined {
  if (!regions.exact || regions.regions.some((r) => r.restrictions.length > 0 || r.runtime.length > 0)) return undefined;
  const { Q, K } = binding.sizes;
  const los = new Float64Array(regions.regions.length);
  const his = new Float64Array(regions.regions.length);
  return (row) => {
    const q = K - Q + row;
    let n = 0;
    for (const region of regions.regions) {
      if (q < region.rowMin || q > region.rowMax) continue;
      let lo = 0;
      let hi = K - 1;
      for (const b of region.lower) lo = Math.max(lo, boundValue(b, q));
      for (const b of region.upper) hi = Math.min(hi, boundValue(b, q));
      if (lo > hi) continue;
      // Insertion by start keeps the few intervals sorted for the sweep below.
      let at = n++;
      while (at > 0 && (los[at - 1] ?? 0) > lo) {
        los[at] = los[at - 1] ?? 0;
        his[at] = his[at - 1] ?? 0;
        at--;
      }
      los[at] = lo;
      his[at] = hi;
    }
    let total = 0;
    let end = -1;
    for (let at = 0; at < n; at++) {
      const lo = Math.max(los[at] ?? 0, end + 1);
      const hi = his[at] ?? 0;
      if (hi >= lo) total += hi - lo + 1;
      end = Math.max(end, hi);
    }
    return total;
  };
}

/** Kept pairs over causal pairs, all heads of one layer, from the exact mask (the whole mask on the host). */
export function causalShare(binding: Binding, layer: number): number {
  let kept = 0;
  for (let head = 0; head < binding.sizes.H; head++) kept += evaluateMask(binding, head, layer).count();
  return kept / (causalPairs(binding.sizes) * binding.sizes.H);
}
