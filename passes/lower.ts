import * as P from "../ir/pattern/nodes.js";
import type { BoolNode } from "../ir/pattern/nodes.js";
import type { Binding } from "../ir/pattern/binding.js";
import type { AttentionKernel, Dtype } from "../ir/kernel/kernel.js";
import { prepareRegions } from "../ir/regions/region.js";
import { regionsOf } from "./regions.js";
import { simplify } from "./simplify.js";
import { specialize } from "./specialize.js";

/**
 * Pass `lower`: a bound pattern and a schedule → kernel IR, one kernel per group of heads whose
 * specialized pattern is the same (a DuoAttention table makes two groups; most patterns make one).
 * `variant` builds the baselines from the same path: causal-dense plans `causal`, masked-dense visits every
 * key tile and masks each.
 */
export type KernelVariant = "sparse" | "causalDense" | "maskedDense";

export interface LowerOptions {
  readonly headDim: number;
  readonly dtype: Dtype;
  readonly blockM: number;
  readonly blockN: number;
  readonly variant?: KernelVariant;
  readonly scale?: number;
}

export function lowerAttention(binding: Binding, layer: number, options: LowerOptions): AttentionKernel[] {
  const variant = options.variant ?? "sparse";
  const groups = new Map<BoolNode, number[]>();
  for (let head = 0; head < binding.sizes.H; head++) {
    const body = variant === "causalDense" ? P.causal() : simplify(specialize(binding, { head, layer }));
    groups.set(body, [...(groups.get(body) ?? []), head]);
  }
  return [...groups].map(([mask, headList], at) => {
    const form = regionsOf(mask, binding.sizes);
    const usable = form.exact && form.regions.every((r) => r.runtime.length === 0);
    return {
      name: `${binding.pattern.name}_${variant}${groups.size > 1 ? `_${at}` : ""}`,
      headDim: options.headDim,
      dtype: options.dtype,
      blockM: options.blockM,
      blockN: options.blockN,
      qLen: binding.sizes.Q,
      kvLen: binding.sizes.K,
      heads: binding.sizes.H,
      kvHeads: binding.sizes.KVH,
      headList,
      scale: options.scale ?? 1 / Math.sqrt(options.headDim),
      segments: variant === "maskedDense" || !usable ? { kind: "allTiles" } : { kind: "closedForm", regions: prepareRegions(form, binding.sizes.K) },
      mask,
    };
  });
}
