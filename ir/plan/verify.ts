import type { Bitset } from "../mask/bitset.js";
import type { BlockPlan } from "./plan.js";

/**
 * The plan's invariants, checked pair by pair against the exact mask: one tile per BLOCK_M rows, segments
 * sorted, disjoint and inside the keys, every kept pair in a segment, every pair of a full segment kept.
 * Returns the first problem, or undefined. Used by the plan tests and the fuzzer's oracle.
 */
export function planProblem(plan: BlockPlan, mask: Bitset): string | undefined {
  const { Q, K } = plan.sizes;
  const covered = new Uint8Array(Q * K);
  if (plan.tiles.length !== Math.ceil(Q / plan.schedule.blockM)) return `${plan.tiles.length} query tiles for ${Q} rows of ${plan.schedule.blockM}`;
  for (const tile of plan.tiles) {
    let previousEnd = 0;
    for (const s of tile.segments) {
      if (s.kStart < previousEnd || s.kStart >= s.kEnd || s.kEnd > K) {
        return `segment [${s.kStart}, ${s.kEnd}) of rows [${tile.qStart}, ${tile.qEnd}) is empty, out of order, overlapping or past K = ${K}`;
      }
      previousEnd = s.kEnd;
      for (let i = tile.qStart; i < tile.qEnd; i++) {
        for (let k = s.kStart; k < s.kEnd; k++) {
          covered[i * K + k] = 1;
          if (s.full && !mask.get(i, k)) return `full segment [${s.kStart}, ${s.kEnd}) of rows [${tile.qStart}, ${tile.qEnd}) drops (${i}, ${k})`;
        }
      }
    }
  }
  for (let i = 0; i < Q; i++) for (let k = 0; k < K; k++) if (mask.get(i, k) && covered[i * K + k] !== 1) return `kept pair (${i}, ${k}) is in no segment`;
  return undefined;
}
