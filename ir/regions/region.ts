import type { BoolNode } from "../pattern/nodes.js";
import { printNode } from "../pattern/print.js";

/** `slope · q + offset`: a key bound that moves with the query position. */
export interface Bound {
  readonly slope: number;
  readonly offset: number;
}

/**
 * One region of a pattern for one head and layer: the pairs with
 *   rowMin ≤ q ≤ rowMax,  k ≥ every lower bound,  k ≤ every upper bound,
 * and every restriction and runtime test true. Restrictions (modular lines, non-affine tests) and runtime
 * tests only remove pairs inside the bounds, so the bounds alone give a superset; a region without them
 * keeps exactly its bounded set.
 */
export interface Region {
  readonly lower: readonly Bound[];
  readonly upper: readonly Bound[];
  readonly rowMin: number;
  readonly rowMax: number;
  /** Static tests the bounds cannot express: the kernel evaluates them (partial segments). */
  readonly restrictions: readonly BoolNode[];
  /** Tests of runtime inputs (index lists, block sets, ids): the index builder resolves them. */
  readonly runtime: readonly BoolNode[];
}

/** A pattern as a union of regions; `exact` is false when normal-form conversion gave up (too many regions). */
export interface RegionForm {
  readonly regions: readonly Region[];
  readonly exact: boolean;
}

export function boundValue(bound: Bound, q: number): number {
  return bound.slope * q + bound.offset;
}

function printBound(bound: Bound): string {
  const slope = bound.slope === 0 ? "" : bound.slope === 1 ? "q" : bound.slope === -1 ? "-q" : `${bound.slope}·q`;
  if (slope === "") return String(bound.offset);
  if (bound.offset === 0) return slope;
  return `${slope} ${bound.offset < 0 ? "-" : "+"} ${Math.abs(bound.offset)}`;
}

/** One line per region: `region 0: q in 0..∞, k >= q - 63, k <= q`. */
export function printRegionForm(form: RegionForm): string {
  if (form.regions.length === 0) return "no regions (the pattern keeps nothing)\n";
  const lines = form.regions.map((region, at) => {
    const parts = [`q in ${fmt(region.rowMin)}..${fmt(region.rowMax)}`];
    for (const b of region.lower) parts.push(`k >= ${printBound(b)}`);
    for (const b of region.upper) parts.push(`k <= ${printBound(b)}`);
    for (const r of region.restrictions) parts.push(`[mask ${printNode(r)}]`);
    for (const r of region.runtime) parts.push(`[runtime ${printNode(r)}]`);
    return `region ${at}: ${parts.join(", ")}`;
  });
  return `${lines.join("\n")}\n${form.exact ? "" : "(not exact: too many regions; everything is planned partial)\n"}`;
}

function fmt(value: number): string {
  return value === Infinity ? "∞" : value === -Infinity ? "-∞" : String(value);
}

/**
 * A region ready for per-tile evaluation (by the planner and by kernels): implicit bounds 0 ≤ k ≤ K − 1
 * added, row limits clamped to 32-bit range, and the integer rows around each crossing of two bounds, where
 * the extremes of lo(q) = max(lower) and hi(q) = min(upper) can lie besides the ends of a row range.
 */
export interface PreparedRegion {
  readonly lower: readonly Bound[];
  readonly upper: readonly Bound[];
  readonly rowMin: number;
  readonly rowMax: number;
  /** No restrictions and no runtime tests: the bounds are the kept set, so full tiles need no mask. */
  readonly exact: boolean;
  readonly lowerCrossings: readonly number[];
  readonly upperCrossings: readonly number[];
}

const rowLimit = 2 ** 30;

export function prepareRegions(form: RegionForm, K: number): PreparedRegion[] {
  return form.regions.map((region) => {
    const lower: Bound[] = [{ slope: 0, offset: 0 }, ...region.lower];
    const upper: Bound[] = [{ slope: 0, offset: K - 1 }, ...region.upper];
    return {
      lower, upper,
      rowMin: Math.max(region.rowMin, -rowLimit),
      rowMax: Math.min(region.rowMax, rowLimit),
      exact: region.restrictions.length === 0 && region.runtime.length === 0,
      lowerCrossings: crossings(lower),
      upperCrossings: crossings(upper),
    };
  });
}

function crossings(bounds: readonly Bound[]): number[] {
  const rows = new Set<number>();
  for (let a = 0; a < bounds.length; a++) {
    for (let b = a + 1; b < bounds.length; b++) {
      const x = bounds[a], y = bounds[b];
      if (x === undefined || y === undefined || x.slope === y.slope) continue;
      const crossing = (y.offset - x.offset) / (x.slope - y.slope);
      if (Math.abs(crossing) < rowLimit) rows.add(Math.floor(crossing)).add(Math.ceil(crossing));
    }
  }
  return [...rows].sort((a, b) => a - b);
}
