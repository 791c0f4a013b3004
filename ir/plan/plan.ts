import type { Sizes } from "../pattern/eval-int.js";

/** Tile sizes: BLOCK_M query rows by BLOCK_N keys. The schedule never changes which pairs are kept. */
export interface Schedule {
  readonly blockM: number;
  readonly blockN: number;
}

/** Keys [kStart, kEnd) of one query tile; `full`: every pair in it is kept, so the kernel applies no mask. */
export interface Segment {
  readonly kStart: number;
  readonly kEnd: number;
  readonly full: boolean;
}

/** Query rows [qStart, qEnd) (row indices i, not positions) and their key segments, disjoint and sorted. */
export interface TilePlan {
  readonly qStart: number;
  readonly qEnd: number;
  readonly segments: readonly Segment[];
}

/**
 * How a plan's segments are found at run time:
 * - closed form: from the tile index by a few integer formulas (the regions' bounds); no metadata buffer;
 * - index: per-tile segment lists built from the runtime inputs (count + segments per query tile).
 */
export type PlanSource = { readonly kind: "closedForm"; readonly constants: number } | { readonly kind: "index" };

export interface BlockPlan {
  readonly static: boolean;
  readonly source: PlanSource;
  readonly schedule: Schedule;
  readonly sizes: Sizes;
  readonly tiles: readonly TilePlan[];
  /** Bytes the kernel reads besides q, k, v: O(1) for closed forms, the segment lists for index plans. */
  readonly metadataBytes: number;
}

export interface PlanStats {
  readonly keptPairs: number;
  readonly causalPairs: number;
  readonly computedPairs: number;
  readonly fullPairs: number;
  readonly density: number;
  /** keptPairs / computedPairs: an upper bound on how close a kernel can come to the ideal speedup. */
  readonly tileEfficiency: number;
  /** causalPairs / computedPairs: what a perfect kernel gains over causal-dense with this plan. */
  readonly planSpeedup: number;
  /** causalPairs / keptPairs. */
  readonly idealSpeedup: number;
  readonly flops: number;
}

/** Causal pairs of Q rows aligned to the end of K keys: Σ (q + 1) for q = K − Q … K − 1. */
export function causalPairs(sizes: Sizes): number {
  const first = sizes.K - sizes.Q + 1;
  return ((first + sizes.K) * sizes.Q) / 2;
}

export function computedPairs(plan: BlockPlan): { computed: number; full: number } {
  let computed = 0;
  let full = 0;
  for (const tile of plan.tiles) {
    const rows = tile.qEnd - tile.qStart;
    for (const s of tile.segments) {
      computed += rows * (s.kEnd - s.kStart);
      if (s.full) full += rows * (s.kEnd - s.kStart);
    }
  }
  return { computed, full };
}

/** One line per query tile, one character per key tile: F full, P partial, . empty. */
export function planText(plan: BlockPlan): string {
  const keyTiles = Math.ceil(plan.sizes.K / plan.schedule.blockN);
  return plan.tiles
    .map((tile) => {
      const row = new Array<string>(keyTiles).fill(".");
      for (const s of tile.segments) {
        for (let t = Math.floor(s.kStart / plan.schedule.blockN); t * plan.schedule.blockN < s.kEnd; t++) row[t] = s.full ? "F" : "P";
      }
      return row.join("");
    })
    .join("\n");
}
