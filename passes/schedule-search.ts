import type { Binding } from "../ir/pattern/binding.js";
import { computedPairs, type Schedule } from "../ir/plan/plan.js";
import { planPattern } from "./plan.js";
import type { HeadLayer } from "./specialize.js";

export interface ScheduleCandidate {
  readonly schedule: Schedule;
  readonly computedPairs: number;
  /** keptPairs / computedPairs. */
  readonly tileEfficiency: number;
  readonly segments: number;
}

export const defaultTileSizes = [16, 32, 64, 128] as const;

/**
 * Schedule search helper: plans the pattern for each candidate tile shape and reports tile efficiency, so a
 * backend can weigh wasted pairs against its own per-tile costs. Best first.
 */
export function searchSchedules(binding: Binding, at: HeadLayer, keptPairs: number, sizes: readonly number[] = defaultTileSizes): ScheduleCandidate[] {
  const candidates: ScheduleCandidate[] = [];
  for (const blockM of sizes) {
    for (const blockN of sizes) {
      const { plan } = planPattern(binding, at, { blockM, blockN });
      const { computed } = computedPairs(plan);
      candidates.push({
        schedule: { blockM, blockN },
        computedPairs: computed,
        tileEfficiency: computed === 0 ? 1 : keptPairs / computed,
        segments: plan.tiles.reduce((n, t) => n + t.segments.length, 0),
      });
    }
  }
  return candidates.sort((a, b) => b.tileEfficiency - a.tileEfficiency || a.segments - b.segments);
}
