import type { Sizes } from "../pattern/eval-int.js";
import type { BoolNode, SizeName } from "../pattern/nodes.js";
import { printNode } from "../pattern/print.js";

/** c + Q·Q + K·K + H·H + KVH·KVH + L·L: a value known once the lengths are. */
export type SizeAffine = Readonly<Record<SizeName | "c", number>>;

export const affine = (c: number): SizeAffine => ({ c, Q: 0, K: 0, H: 0, KVH: 0, L: 0 });
const sizeKeys = ["c", "Q", "K", "H", "KVH", "L"] as const;

export function addAffine(a: SizeAffine, b: SizeAffine): SizeAffine {
  return { c: a.c + b.c, Q: a.Q + b.Q, K: a.K + b.K, H: a.H + b.H, KVH: a.KVH + b.KVH, L: a.L + b.L };
}

export function scaleAffine(a: SizeAffine, by: number): SizeAffine {
  return { c: a.c * by, Q: a.Q * by, K: a.K * by, H: a.H * by, KVH: a.KVH * by, L: a.L * by };
}

/** The number, when no size appears in it. */
export function constantOf(a: SizeAffine): number | undefined {
  return a.Q === 0 && a.K === 0 && a.H === 0 && a.KVH === 0 && a.L === 0 ? a.c : undefined;
}

export function evalAffine(a: SizeAffine, sizes: Sizes): number {
  return a.c + a.Q * sizes.Q + a.K * sizes.K + a.H * sizes.H + a.KVH * sizes.KVH + a.L * sizes.L;
}

export function printAffine(a: SizeAffine): string {
  const terms = sizeKeys.filter((key) => key !== "c" && a[key] !== 0).map((key) => (a[key] === 1 ? key : a[key] === -1 ? `-${key}` : `${a[key]}·${key}`));
  if (a.c !== 0 || terms.length === 0) terms.push(String(a.c));
  return terms.join(" + ").replaceAll("+ -", "- ");
}

/** `q - 63`, `2·q + K - 1`, `127`: a symbolic bound as people write it. */
export function printSymbolicBound(b: SymbolicBound): string {
  const slope = b.slope === 0 ? "" : b.slope === 1 ? "q" : b.slope === -1 ? "-q" : `${b.slope}·q`;
  if (slope === "") return printAffine(b.offset);
  const offset = constantOf(b.offset) === 0 ? "" : printAffine(b.offset);
  return offset === "" ? slope : `${slope} + ${offset}`.replace("+ -", "- ");
}

/** `slope · q + offset` with the offset still in terms of the lengths. */
export interface SymbolicBound {
  readonly slope: number;
  readonly offset: SizeAffine;
}

/** `slope · q + offset ≥ 0`: a limit on the rows a region applies to. */
export type RowLimit = SymbolicBound;

/** A region before the lengths are known: what kernels compile (see Region for the meaning). */
export interface SymbolicRegion {
  readonly lower: readonly SymbolicBound[];
  readonly upper: readonly SymbolicBound[];
  readonly rows: readonly RowLimit[];
  readonly restrictions: readonly BoolNode[];
  readonly runtime: readonly BoolNode[];
}

export interface SymbolicRegionForm {
  readonly regions: readonly SymbolicRegion[];
  readonly exact: boolean;
}

/** Fixes the lengths: symbolic bounds become numbers, row limits an interval (empty regions dropped). */
export function instantiate(form: SymbolicRegionForm, sizes: Sizes): RegionForm {
  const regions: Region[] = [];
  for (const region of form.regions) {
    let rowMin = -Infinity;
    let rowMax = Infinity;
    for (const limit of region.rows) {
      const offset = evalAffine(limit.offset, sizes);
      if (limit.slope === 0) {
        if (offset < 0) rowMin = Infinity;
      } else if (limit.slope > 0) rowMin = Math.max(rowMin, Math.ceil(-offset / limit.slope));
      else rowMax = Math.min(rowMax, Math.floor(offset / -limit.slope));
    }
    if (rowMin > rowMax) continue;
    const numeric = (b: SymbolicBound): Bound => ({ slope: b.slope, offset: evalAffine(b.offset, sizes) });
    regions.push({ lower: region.lower.map(numeric), upper: region.upper.map(numeric), rowMin, rowMax, restrictions: region.restrictions, runtime: region.runtime });
  }
  return { regions, exact: form.exact };
}

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

/** One line per region, lengths left as symbols: `region 0: q - K + 100 >= 0, k >= q - 63, k <= q`. */
export function printSymbolicRegionForm(form: SymbolicRegionForm): string {
  if (form.regions.length === 0) return "no regions (the pattern keeps nothing)\n";
  const term = printSymbolicBound;
  const lines = form.regions.map((region, at) => {
    const parts = [
      ...region.rows.map((r) => `${term(r)} >= 0`),
      ...region.lower.map((b) => `k >= ${term(b)}`),
      ...region.upper.map((b) => `k <= ${term(b)}`),
      ...region.restrictions.map((r) => `[mask ${printNode(r)}]`),
      ...region.runtime.map((r) => `[runtime ${printNode(r)}]`),
    ];
    return `region ${at}: ${parts.join(", ") || "every pair"}`;
  });
  return `${lines.join("\n")}\n${form.exact ? "" : "(not exact: too many regions; everything is planned partial)\n"}`;
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
