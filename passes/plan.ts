import { diagnostic, DiagnosticError } from "../diagnostics/diagnostic.js";
import type { Bitset } from "../ir/mask/bitset.js";
import { evaluateMask, maxMaskPairs } from "../ir/mask/evaluate.js";
import type { Binding } from "../ir/pattern/binding.js";
import type { Sizes } from "../ir/pattern/eval-int.js";
import { union, type Interval } from "../ir/plan/intervals.js";
import type { BlockPlan, Schedule, Segment, TilePlan } from "../ir/plan/plan.js";
import { boundValue, prepareRegions, type PreparedRegion, type RegionForm } from "../ir/regions/region.js";
import { admissibleIn, latticeOf, type Lattice } from "./lattice.js";
import { regionsOf } from "./regions.js";
import { simplify } from "./simplify.js";
import { specialize, type HeadLayer } from "./specialize.js";

/**
 * Pass `plan`: for each query tile, the key segments a kernel must visit, each full (no mask) or partial.
 * Static patterns get a closed form: segments follow from the regions' bounds and the tile index alone, so
 * a kernel computes them and reads no metadata. Patterns with runtime inputs get an index plan built from
 * the inputs (the reference index builder; device builders mirror it).
 */
export interface PlanResult {
  readonly plan: BlockPlan;
  readonly regions: RegionForm;
}

export function planPattern(binding: Binding, at: HeadLayer, schedule: Schedule): PlanResult {
  const body = simplify(specialize(binding, at));
  const regions = regionsOf(body, binding.sizes);
  const isStatic = regions.regions.every((r) => r.runtime.length === 0);
  const plan = isStatic ? closedFormPlan(regions, binding.sizes, schedule) : indexPlan(maskForIndex(binding, at), binding.sizes, schedule);
  return { plan, regions };
}

/** The closed form: each tile's segments from the regions, O(regions) work per tile, nothing stored. */
export function closedFormPlan(form: RegionForm, sizes: Sizes, schedule: Schedule): BlockPlan {
  const tiles: TilePlan[] = [];
  // Modular lines are classified tile by tile with O(rows) integer work per tile; past this budget of
  // row × key-tile steps the plan keeps them coarse (visited and masked), which is always correct.
  const refine = (sizes.Q * sizes.K) / schedule.blockN <= latticeBudget;
  const prepared: PlannedRegion[] = prepareRegions(form, sizes.K).map((region, at) => {
    const source = form.regions[at];
    const lattice = refine && source !== undefined && source.runtime.length === 0 && source.restrictions.length > 0 ? latticeOf(source.restrictions, sizes) : undefined;
    return lattice === undefined ? { region } : { region, lattice };
  });
  for (let qStart = 0; qStart < sizes.Q; qStart += schedule.blockM) {
    const qEnd = Math.min(sizes.Q, qStart + schedule.blockM);
    tiles.push({ qStart, qEnd, segments: segmentsOfTile(prepared, sizes, schedule, qStart, qEnd) });
  }
  // The kernel's constants: two per bound and per row limit of each region.
  const constants = form.regions.reduce((n, r) => n + 2 * (r.lower.length + r.upper.length) + 2, 0);
  return { static: true, source: { kind: "closedForm", constants }, schedule, sizes, tiles, metadataBytes: 4 * constants };
}

/**
 * A tile's segments. Regions that start or stop inside the tile's rows (tri_shape's last rows) split it into
 * bands of rows over which every region is either active or not; a key tile is full when it is full in
 * every band, so two regions that each cover part of the rows still make a full tile together.
 */
/** Pairs of (row, key tile) steps the modular refinement may spend on one plan. */
export const latticeBudget = 2 ** 22;

interface PlannedRegion {
  readonly region: PreparedRegion;
  /** Present when the region's restrictions are modular lines the planner classifies exactly. */
  readonly lattice?: Lattice;
}

function segmentsOfTile(regions: readonly PlannedRegion[], sizes: Sizes, schedule: Schedule, qStart: number, qEnd: number): Segment[] {
  const first = sizes.K - sizes.Q + qStart;
  const last = sizes.K - sizes.Q + qEnd - 1;
  const breaks = new Set([first, last + 1]);
  for (const { region } of regions) {
    const rows = activeRows(region, first, last);
    if (rows !== undefined) breaks.add(rows.lo).add(rows.hi + 1);
  }
  const edges = [...breaks].sort((a, b) => a - b);
  const pieces: Interval[] = [];
  let fullTiles: Interval[] | undefined;
  for (let band = 0; band + 1 < edges.length; band++) {
    const bandFirst = edges[band] ?? first;
    const bandLast = (edges[band + 1] ?? last + 1) - 1;
    const full: Interval[] = [];
    const bandPieces: { readonly region: PlannedRegion; readonly piece: Piece }[] = [];
    for (const planned of regions) {
      const { region, lattice } = planned;
      const found = lattice === undefined ? regionPieces(region, bandFirst, bandLast) : latticePieces(region, lattice, bandFirst, bandLast, sizes.K, schedule.blockN);
      for (const piece of found) {
        pieces.push(piece);
        bandPieces.push({ region: planned, piece });
        if (piece.full) full.push(piece);
      }
    }
    full.push(...jointlyFullTiles(bandPieces, full, bandFirst, bandLast, sizes.K, schedule.blockN));
    const bandFull = fullKeyTiles(full, sizes.K, schedule.blockN);
    fullTiles = fullTiles === undefined ? bandFull : intersect(fullTiles, bandFull);
  }
  const touched = union(union(pieces).map((p) => ({ lo: Math.floor(p.lo / schedule.blockN), hi: Math.floor(p.hi / schedule.blockN) })));
  return tileRuns(touched, fullTiles ?? [], sizes.K, schedule.blockN);
}

/** Key tiles wholly inside full pieces (the ragged last tile ends at K). */
function fullKeyTiles(full: readonly Interval[], K: number, blockN: number): Interval[] {
  return union(
    union(full).map((p) => ({ lo: Math.ceil(p.lo / blockN), hi: p.hi >= K - 1 ? Math.floor((K - 1) / blockN) : Math.floor((p.hi + 1) / blockN) - 1 })),
  );
}

/** Intersection of two sorted, disjoint interval lists. */
function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const x of a) {
    for (const y of b) {
      const lo = Math.max(x.lo, y.lo), hi = Math.min(x.hi, y.hi);
      if (lo <= hi) out.push({ lo, hi });
    }
  }
  return out;
}

interface Piece extends Interval {
  readonly full: boolean;
}

/**
 * The keys a region can keep for query positions first…last: the union of its per-row intervals
 * [lo(q), hi(q)], split into a full middle (kept by every row) and partial fringes. lo is a maximum of
 * affine bounds (convex), hi a minimum (concave), so their extremes over the rows lie at the ends or at the
 * rows where two bounds cross.
 */
function regionPieces(prepared: PreparedRegion, first: number, last: number): Piece[] {
  const { lower, upper } = prepared;
  const rows = activeRows(prepared, first, last);
  if (rows === undefined) return [];
  const rowLo = rows.lo;
  const rowHi = rows.hi;
  const lo = (q: number): number => lower.reduce((m, b) => Math.max(m, boundValue(b, q)), -Infinity);
  const hi = (q: number): number => upper.reduce((m, b) => Math.min(m, boundValue(b, q)), Infinity);
  let minLo = Math.min(lo(rowLo), lo(rowHi));
  for (const q of prepared.lowerCrossings) if (q > rowLo && q < rowHi) minLo = Math.min(minLo, lo(q));
  let maxHi = Math.max(hi(rowLo), hi(rowHi));
  for (const q of prepared.upperCrossings) if (q > rowLo && q < rowHi) maxHi = Math.max(maxHi, hi(q));
  const everyRow = rowLo === first && rowHi === last && prepared.exact;
  const maxLo = Math.max(lo(rowLo), lo(rowHi));
  const minHi = Math.min(hi(rowLo), hi(rowHi));
  if (!everyRow || maxLo > minHi) return [{ lo: minLo, hi: maxHi, full: false }];
  return [
    { lo: minLo, hi: maxLo - 1, full: false },
    { lo: maxLo, hi: minHi, full: true },
    { lo: minHi + 1, hi: maxHi, full: false },
  ].filter((p) => p.lo <= p.hi);
}

/**
 * Tiles that no single region fills but several fill together (a ladder's lines beside the sinks): where
 * modular lines take part, such a tile is checked pair by pair against the regions themselves (bounds and
 * lattices, never the whole predicate). Only tiles touched by a lattice region and by another region, and
 * full in none, are checked, so the work stays near the regions' edges.
 */
function jointlyFullTiles(bandPieces: readonly { region: PlannedRegion; piece: Piece }[], full: readonly Interval[], first: number, last: number, K: number, blockN: number): Piece[] {
  if (!bandPieces.some(({ region }) => region.lattice !== undefined)) return [];
  if (bandPieces.some(({ region }) => region.lattice === undefined && !region.region.exact)) return [];
  const fullTiles = fullKeyTiles(full, K, blockN);
  const touchedBy = new Map<number, Set<PlannedRegion>>();
  for (const { region, piece } of bandPieces) {
    for (let t = Math.floor(piece.lo / blockN); t <= Math.floor(piece.hi / blockN); t++) {
      const set = touchedBy.get(t) ?? new Set<PlannedRegion>();
      set.add(region);
      touchedBy.set(t, set);
    }
  }
  const found: Piece[] = [];
  for (const [t, touching] of touchedBy) {
    if (touching.size < 2 || ![...touching].some((r) => r.lattice !== undefined)) continue;
    if (fullTiles.some((f) => f.lo <= t && t <= f.hi)) continue;
    const c0 = t * blockN;
    const c1 = Math.min(K, c0 + blockN) - 1;
    let covered = true;
    for (let q = first; q <= last && covered; q++) {
      for (let k = c0; k <= c1 && covered; k++) covered = [...touching].some((r) => regionKeeps(r, q, k));
    }
    if (covered) found.push({ lo: c0, hi: c1, full: true });
  }
  return found;
}

/** Whether a region (bounds, row limits and lattice) keeps the pair (q, k). */
function regionKeeps({ region, lattice }: PlannedRegion, q: number, k: number): boolean {
  if (q < region.rowMin || q > region.rowMax) return false;
  if (region.lower.some((b) => k < boundValue(b, q)) || region.upper.some((b) => k > boundValue(b, q))) return false;
  if (lattice === undefined) return true;
  const base = lattice.aq * q + lattice.ak * k;
  return admissibleIn(lattice, base, base) === 1;
}

/**
 * A region with modular lines, key tile by key tile inside its bounds: a tile is touched when some row's
 * key interval holds an admissible value of the lattice's base, full when every row covers the whole tile
 * and every value there is admissible.
 */
function latticePieces(region: PreparedRegion, lattice: Lattice, first: number, last: number, K: number, blockN: number): Piece[] {
  const [hull] = regionPieces(region, first, last);
  const rows = activeRows(region, first, last);
  if (hull === undefined || rows === undefined) return [];
  const lo = (q: number): number => region.lower.reduce((m, b) => Math.max(m, boundValue(b, q)), -Infinity);
  const hi = (q: number): number => region.upper.reduce((m, b) => Math.min(m, boundValue(b, q)), Infinity);
  const pieces: Piece[] = [];
  for (let t = Math.floor(hull.lo / blockN); t <= Math.floor(hull.hi / blockN); t++) {
    const c0 = t * blockN;
    const c1 = Math.min(K, c0 + blockN) - 1;
    let touched = false;
    let full = rows.lo === first && rows.hi === last;
    for (let q = rows.lo; q <= rows.hi && (full || !touched); q++) {
      const k0 = Math.max(c0, lo(q));
      const k1 = Math.min(c1, hi(q));
      if (k0 > k1) {
        full = false;
        continue;
      }
      const base = lattice.aq * q;
      const [b0, b1] = lattice.ak === 1 ? [base + k0, base + k1] : lattice.ak === -1 ? [base - k1, base - k0] : [base, base];
      const admissible = admissibleIn(lattice, b0, b1);
      if (admissible > 0) touched = true;
      if (k0 !== c0 || k1 !== c1 || admissible !== b1 - b0 + 1) full = false;
    }
    if (touched) pieces.push({ lo: c0, hi: c1, full });
  }
  return pieces;
}

/** Rows of first…last where the region keeps something: its row limits, and lo(q) ≤ hi(q) for each pair of bounds. */
function activeRows(prepared: PreparedRegion, first: number, last: number): Interval | undefined {
  const { lower, upper } = prepared;
  let rowLo = Math.max(first, prepared.rowMin);
  let rowHi = Math.min(last, prepared.rowMax);
  // Keep only rows where the region is non-empty: lo(q) ≤ hi(q) is one linear condition per pair of bounds.
  for (const l of lower) {
    for (const u of upper) {
      const slope = u.slope - l.slope;
      const offset = u.offset - l.offset;
      if (slope === 0) {
        if (offset < 0) return undefined;
      } else if (slope > 0) rowLo = Math.max(rowLo, Math.ceil(-offset / slope));
      else rowHi = Math.min(rowHi, Math.floor(offset / -slope));
    }
  }
  return rowLo <= rowHi ? { lo: rowLo, hi: rowHi } : undefined;
}

/** Segments on the key-tile grid: runs of touched tiles, split where full tiles begin and end. */
function tileRuns(touched: readonly Interval[], fullTiles: readonly Interval[], K: number, blockN: number): Segment[] {
  const segments: Segment[] = [];
  const push = (lo: number, hi: number, isFull: boolean): void => {
    if (lo <= hi) segments.push({ kStart: lo * blockN, kEnd: Math.min(K, (hi + 1) * blockN), full: isFull });
  };
  for (const range of touched) {
    let cursor = range.lo;
    for (const f of fullTiles) {
      if (f.hi < cursor || f.lo > range.hi) continue;
      push(cursor, f.lo - 1, false);
      push(Math.max(f.lo, cursor), Math.min(f.hi, range.hi), true);
      cursor = Math.min(f.hi, range.hi) + 1;
    }
    push(cursor, range.hi, false);
  }
  return segments;
}

/**
 * The reference index builder, and the enumerated plan tests compare closed forms with: classifies every
 * (query tile, key tile) by counting its kept pairs in the exact mask.
 */
export function indexPlan(mask: Bitset, sizes: Sizes, schedule: Schedule): BlockPlan {
  const tiles: TilePlan[] = [];
  const keyTiles = Math.ceil(sizes.K / schedule.blockN);
  let segmentsTotal = 0;
  for (let qStart = 0; qStart < sizes.Q; qStart += schedule.blockM) {
    const qEnd = Math.min(sizes.Q, qStart + schedule.blockM);
    const touched: Interval[] = [];
    const fullTiles: Interval[] = [];
    for (let t = 0; t < keyTiles; t++) {
      const kStart = t * schedule.blockN, kEnd = Math.min(sizes.K, kStart + schedule.blockN);
      let kept = 0;
      for (let row = qStart; row < qEnd; row++) kept += mask.countRange(row, kStart, kEnd);
      if (kept > 0) touched.push({ lo: t, hi: t });
      if (kept === (qEnd - qStart) * (kEnd - kStart)) fullTiles.push({ lo: t, hi: t });
    }
    const segments = tileRuns(union(touched), union(fullTiles), sizes.K, schedule.blockN);
    segmentsTotal += segments.length;
    tiles.push({ qStart, qEnd, segments });
  }
  // CSR layout: an offset per query tile, then (start tile, end tile | full flag) per segment.
  return { static: false, source: { kind: "index" }, schedule, sizes, tiles, metadataBytes: 4 * (tiles.length + 1) + 8 * segmentsTotal };
}

/** The exact mask the reference index builder classifies tiles from, refused past maxMaskPairs. */
export function maskForIndex(binding: Binding, at: HeadLayer): Bitset {
  const { Q, K } = binding.sizes;
  if (Q * K > maxMaskPairs) {
    throw new DiagnosticError([diagnostic("STP312", `the reference index builder evaluates the whole ${Q} × ${K} mask, more than ${maxMaskPairs} pairs`, {
      span: binding.pattern.span, hint: "plan dynamic patterns at shorter lengths here; the device index builders handle long ones",
    })]);
  }
  return evaluateMask(binding, at.head, at.layer);
}
