import type { AttentionKernel, ResidueRun } from "../../ir/kernel/kernel.js";
import { closedFormCode } from "./closed-form.js";
import type { Dialect } from "./dialect.js";

/**
 * The part of an attention kernel both backends print alike: which rows a workgroup (CUDA: block) serves,
 * and the loops over the key tiles of a closed-form plan. Key lattices and row groups are runs of residues,
 * the integers x with (x − o) mod m < w, numbered from 0 by run_at(j) = o − m + m·⌊j / w⌋ + j mod w
 * (o in [0, m), so every member ≥ 0 has an index ≥ 0; the first few indices give negative members, which
 * are skipped) and inverted by run_index(x), the index of the first member ≥ x. Each prelude defines them.
 * A lattice region visits tiles of BN consecutive lattice keys; keys that plain-tile regions also visit are
 * left to those visits (`covered`), so every kept pair is counted once.
 */
export interface KernelLattice {
  readonly lattice: ResidueRun;
  /** The region that walks it. */
  readonly at: number;
}

export function latticeOf(kernel: AttentionKernel): KernelLattice | undefined {
  if (kernel.segments.kind !== "closedForm") return undefined;
  const at = kernel.segments.regions.findIndex((r) => r.keys.kind === "lattice");
  const region = kernel.segments.regions[at];
  return region?.keys.kind === "lattice" ? { lattice: region.keys.lattice, at } : undefined;
}

/** Regions that walk consecutive key tiles. */
export function naturalRegions(kernel: AttentionKernel): number[] {
  if (kernel.segments.kind !== "closedForm") return [];
  return kernel.segments.regions.flatMap((r, at) => (r.keys.kind === "tiles" ? [at] : []));
}

export function groupsRows(kernel: AttentionKernel): boolean {
  return kernel.rowGroups.runs.length > 1 || kernel.rowGroups.modulus > 1;
}

/** Kernels that need run_at / run_index in their prelude. */
export function usesRuns(kernel: AttentionKernel): boolean {
  return groupsRows(kernel) || latticeOf(kernel) !== undefined;
}

/**
 * The fewest rows a workgroup of a narrow row group serves (one CUDA warp's sixteen; four 4-wide SIMD groups
 * on a software adapter). A group narrower than the widest would fill only a few of its workgroups, each
 * with BM rows; when its rows are long (grid's horizontal lines attend every earlier key) those few are the
 * launch's stragglers. Spread over the workgroups the launch has anyway, its rows run in parallel, and each
 * workgroup's causal key range ends at its own last row. Fewer rows than this would restage each K/V tile
 * for too few rows.
 */
export const minGroupTileRows = 16;

export interface RowMapping {
  /** Defines `tile`, `first` and `last` (positions of the first and last rows served); may return early. */
  readonly code: string;
  /** The row index (0 ≤ row < Q when valid) of the tile's `slot`-th row. */
  readonly rowOf: (slot: string) => string;
}

/**
 * Which rows a workgroup (CUDA: block) serves, as slots: with row groups, up to BM consecutive members of
 * its group (slot = row; -1 past them, see minGroupTileRows); otherwise BM consecutive slots of the packed
 * rows, where slot s is row s mod Q of the pack's head ⌊s / Q⌋ (GQA decode packs the query heads of one KV
 * head, ../split-k.ts; pack 1: slot = row). `first` and `last` bound the positions of the rows served: all
 * rows when the tile spans two heads. The rows between them that are not served only widen the bounds, which
 * stays correct. A workgroup past its group's rows returns at once (uniformly: it depends only on its index).
 */
export function rowMapping(kernel: AttentionKernel, groupIndex: string, dialect: Dialect): RowMapping {
  const { let: constant } = dialect;
  const groups = kernel.rowGroups;
  if (!groupsRows(kernel)) {
    return {
      code: `  ${constant("tile", groupIndex)}
  ${constant("s0", "tile * BM")}
  ${constant("s1", "min(s0 + BM, pack * Q_LEN)")}
  ${constant("spans", "s0 / Q_LEN != (s1 - 1) / Q_LEN")}
  // Positions of the tile's first and last query rows.
  ${constant("first", `K_LEN - Q_LEN + ${dialect.select("s0 % Q_LEN", "0", "spans")}`)}
  ${constant("last", `K_LEN - Q_LEN + ${dialect.select("(s1 - 1) % Q_LEN", "Q_LEN - 1", "spans")}`)}`,
      rowOf: (slot) => `tile * BM + ${slot}`,
    };
  }
  const widest = Math.max(...groups.runs.map((r) => r.width));
  const m = groups.modulus;
  return {
    code: `  // Rows in ${groups.runs.length} groups by position modulo ${m}; every group has the same number of workgroups,
  // and a narrower group spreads its rows over them, at least ${Math.min(minGroupTileRows, kernel.blockM)} a workgroup.
  ${dialect.intArray("group_starts", groups.runs.map((r) => r.start))}
  ${dialect.intArray("group_widths", groups.runs.map((r) => r.width))}
  ${constant("tiles_per_group", `ceil_div(ceil_div(Q_LEN, ${m}) * ${widest}, BM)`)}
  ${constant("row_group", `${groupIndex} / tiles_per_group`)}
  ${constant("tile", `${groupIndex} % tiles_per_group`)}
  // Row r is in the group when its position's residue is in the run: (r - row_o) mod ${m} < row_w.
  ${constant("row_w", "group_widths[row_group]")}
  ${constant("row_o", `floor_mod(group_starts[row_group] - (K_LEN - Q_LEN), ${m})`)}
  ${constant("group_j0", `run_index(0, row_o, ${m}, row_w)`)}
  ${constant("group_j1", `run_index(Q_LEN, row_o, ${m}, row_w)`)}
  ${constant("rows_per_tile", `min(max(ceil_div(group_j1 - group_j0, tiles_per_group), ${Math.min(minGroupTileRows, kernel.blockM)}), BM)`)}
  ${constant("j0", "group_j0 + tile * rows_per_tile")}
  ${constant("tile_rows", "min(rows_per_tile, group_j1 - j0)")}
  if (tile_rows <= 0) { return; }
  // Positions of the workgroup's first and last query rows.
  ${constant("first", `K_LEN - Q_LEN + run_at(j0, row_o, ${m}, row_w)`)}
  ${constant("last", `K_LEN - Q_LEN + run_at(j0 + tile_rows - 1, row_o, ${m}, row_w)`)}`,
    rowOf: (slot) => dialect.select("-1", `run_at(j0 + ${slot}, row_o, ${m}, row_w)`, `${slot} < tile_rows`),
  };
}

/** How a backend visits a tile: key tile or lattice tile `t` (lattice when `lattice.when`), full (no mask) or not. */
export type VisitCall = (t: string, full: string, lattice: { readonly offset: string; readonly when: string } | undefined) => string;

/**
 * The closed form's loop: every region's tiles in one loop (one visit site, so the visit is inlined once
 * and its registers are not duplicated), region after region; a key tile that an earlier plain-tile region
 * visited is skipped, and a lattice tile is full only when no plain-tile visit shares any of its keys.
 */
export function closedFormLoops(kernel: AttentionKernel, dialect: Dialect, visit: VisitCall): string {
  if (kernel.segments.kind !== "closedForm") throw new Error("closedFormLoops needs a closed-form kernel");
  const regions = kernel.segments.regions;
  const lattice = latticeOf(kernel);
  const natural = naturalRegions(kernel);
  const { let: constant, var: mutable } = dialect;
  const start = (n: number): string => `max(r${n}_lo, 0)`;
  const counts = regions.map((_, n) => constant(`count${n}`, `max(0, r${n}_hi - ${start(n)} + 1)`));
  const before = (n: number): string => (n === 0 ? "0" : Array.from({ length: n }, (_, m) => `count${m}`).join(" + "));
  const single = regions.length === 1;
  const regionIs = (n: number): string => (single ? (n === 0 ? "true" : "false") : `region == ${n}`);
  const pick = single ? `t = ${start(0)} + v;` : regions.map((_, n) => {
    const assign = `region = ${n}; t = ${start(n)} + v - (${before(n)});`;
    if (n === regions.length - 1) return `{ ${assign} }`;
    return `if (v < ${before(n + 1)}) { ${assign} }`;
  }).join(" else ");
  const skips = natural.slice(1).map((n, at) => {
    const earlier = natural.slice(0, at + 1).map((m) => `(t >= r${m}_lo && t <= r${m}_hi)`);
    return `if (region == ${n} && (${earlier.join(" || ")})) { continue; }`;
  });
  const tileFull = natural.filter((n) => regions[n]?.exact).map((n) => `(t >= r${n}_full_lo && t <= r${n}_full_hi)`);
  const latticeFull = lattice === undefined ? "" : latticeFullness(lattice.at, natural, dialect);
  const full = lattice === undefined
    ? (tileFull.length > 0 ? tileFull.join(" || ") : "false")
    : dialect.select(tileFull.length > 0 ? tileFull.join(" || ") : "false", "lattice_full", regionIs(lattice.at));
  const covered = lattice === undefined ? [] : natural.map((n, at) => `  covered_lo[${at}] = r${n}_lo; covered_hi[${at}] = r${n}_hi;`);
  return [
    closedFormCode(regions, kernel.blockN, dialect),
    ...covered,
    ...counts.map((c) => `  ${c}`),
    `  for (${dialect.loopStart("v", "0")}; v < ${before(regions.length)}; v++) {
    ${single ? "" : mutable("region", "0")}
    ${mutable("t", "0")}
    ${pick}
    ${skips.join("\n    ")}${latticeFull}
    ${lattice === undefined ? visit("t", full, undefined) : visit("t", full, { offset: `r${lattice.at}_o`, when: regionIs(lattice.at) })}
  }`,
  ].join("\n");
}

/** A lattice tile is full inside the region's full range when no plain-tile visit shares any of its keys. */
function latticeFullness(at: number, natural: readonly number[], dialect: Dialect): string {
  const overlapping = natural.map((n) => `(r${n}_lo <= r${n}_hi && span_lo < (r${n}_hi + 1) * BN && span_hi >= r${n}_lo * BN)`);
  return `
    ${dialect.let("span_lo", `lattice_key(t * BN, r${at}_o)`)}
    ${dialect.let("span_hi", `lattice_key(t * BN + BN - 1, r${at}_o)`)}
    ${dialect.let("overlaps", overlapping.length === 0 ? "false" : overlapping.join("\n      || "))}
    ${dialect.let("lattice_full", `t >= r${at}_full_lo && t <= r${at}_full_hi && !overlaps`)}`;
}
