import * as P from "../ir/pattern/nodes.js";
import type { BoolNode } from "../ir/pattern/nodes.js";
import type { Binding } from "../ir/pattern/binding.js";
import { consecutiveRows, type AttentionKernel, type Dtype, type KernelLaunch } from "../ir/kernel/kernel.js";
import { verifyKernel } from "../ir/kernel/verify.js";
import { diagnostic, DiagnosticError } from "../diagnostics/diagnostic.js";
import { dynamismOf, postOrder } from "../ir/pattern/pattern.js";
import { keyGathersOf } from "./key-gathers.js";
import { packDeviceInputs } from "./device-inputs.js";
import { lowerRegions, type LoweredRegions } from "./lower-regions.js";
import { symbolicRegionsOf } from "./regions.js";
import { simplify } from "./simplify.js";
import { specialize } from "./specialize.js";

/**
 * Pass `lower`: a bound pattern and a schedule → kernel IR, one kernel per group of heads whose specialized
 * pattern is the same (a DuoAttention table makes two groups; most patterns make one). Parameters are
 * compiled in; lengths stay symbolic. `variant` builds the baselines from the same path: causal-dense plans
 * `causal`, masked-dense visits every key tile and masks each.
 */
export type KernelVariant = "sparse" | "causalDense" | "maskedDense";

export interface LowerOptions {
  readonly headDim: number;
  readonly dtype: Dtype;
  readonly blockM: number;
  readonly blockN: number;
  readonly variant?: KernelVariant;
  readonly scale?: number;
  /**
   * Whether dynamic kernels gather listed columns and diagonals apart (passes/key-gathers.ts; default true).
   * False for a backend without a gather path: its tile index then visits them with their tiles.
   */
  readonly gathers?: boolean;
}

export function lowerAttention(binding: Binding, layer: number, options: LowerOptions): KernelLaunch[] {
  checkSizes(options);
  const launches = lowerLaunches(binding, layer, options);
  for (const { kernel } of launches) {
    const problems = verifyKernel(kernel);
    if (problems.length > 0) throw new Error(`lowering produced a malformed kernel ${kernel.name}: ${problems.join("; ")}`);
  }
  return launches;
}

/**
 * The head dim and tile sizes are positive integers: an API caller's 0 or 12.5 is a coded error here, not
 * a malformed kernel (which verifyKernel reports as a bug of lowering). What a backend takes is its own check.
 */
function checkSizes(options: LowerOptions): void {
  for (const [name, value] of [["headDim", options.headDim], ["blockM", options.blockM], ["blockN", options.blockN]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new DiagnosticError([diagnostic("STP902", `${name} must be a positive integer, not ${value}`, { hint: name === "headDim" ? "pass q's last dimension" : "pass a tile size such as 16, 32 or 64" })]);
    }
  }
}

function lowerLaunches(binding: Binding, layer: number, options: LowerOptions): KernelLaunch[] {
  const variant = options.variant ?? "sparse";
  if (dynamismOf(binding.pattern) === "dynamic" && variant !== "causalDense") {
    const mask = simplify(specialize(binding, { head: 0, layer }, { keepSizes: true, keepHeads: true }));
    // A pattern can declare a per-element input and not read it once simplified (`none`, `causal | …`):
    // then its kept set is static, and the static path plans it (there is nothing to build an index from).
    if (postOrder(mask).some((node) => "input" in node && node.input.kind !== "bool")) return [lowerDynamic(binding, mask, layer, options, variant)];
  }
  const groups = new Map<BoolNode, number[]>();
  for (let head = 0; head < binding.sizes.H; head++) {
    const body = variant === "causalDense" ? P.causal() : simplify(specialize(binding, { head, layer }, { keepSizes: true }));
    groups.set(body, [...(groups.get(body) ?? []), head]);
  }
  return [...groups].map(([mask, heads], at) => ({ kernel: lowerOne(binding.pattern.name, mask, variant, options, groups.size > 1 ? at : undefined), heads, layer }));
}

/**
 * Dynamic patterns: one kernel for every head (h, kvh, l stay variables), its mask reading the runtime
 * inputs on the device; the sparse variant walks a tile index built on the device, the masked-dense one every tile.
 */
function lowerDynamic(binding: Binding, mask: BoolNode, layer: number, options: LowerOptions, variant: KernelVariant): KernelLaunch {
  const inputs = [...new Map(postOrder(mask).flatMap((node) => ("input" in node ? [[node.input.name, node.input] as const] : []))).values()];
  const gathers = variant === "sparse" && options.gathers !== false ? keyGathersOf(mask) : undefined;
  const kernel: AttentionKernel = {
    name: `${binding.pattern.name}_${variant}`,
    headDim: options.headDim,
    dtype: options.dtype,
    blockM: options.blockM,
    blockN: options.blockN,
    scale: options.scale ?? 1 / Math.sqrt(options.headDim),
    segments: variant === "sparse" ? { kind: "tileIndex" } : { kind: "allTiles" },
    rowGroups: consecutiveRows,
    mask,
    inputs,
    ...(gathers === undefined ? {} : { gathers }),
  };
  const heads = Array.from({ length: binding.sizes.H }, (_, h) => h);
  return { kernel, heads, layer, aux: packDeviceInputs(binding, inputs) };
}

function lowerOne(pattern: string, mask: BoolNode, variant: KernelVariant, options: LowerOptions, group: number | undefined): AttentionKernel {
  const form = symbolicRegionsOf(mask);
  const usable = variant !== "maskedDense" && form.exact && form.regions.every((r) => r.runtime.length === 0);
  const lowered = usable ? withSmallConstants(lowerRegions(form)) : undefined;
  return {
    name: `${pattern}_${variant}${group === undefined ? "" : `_${group}`}`,
    headDim: options.headDim,
    dtype: options.dtype,
    blockM: options.blockM,
    blockN: options.blockN,
    scale: options.scale ?? 1 / Math.sqrt(options.headDim),
    segments: lowered === undefined ? { kind: "allTiles" } : { kind: "closedForm", regions: lowered.regions },
    rowGroups: lowered?.rowGroups ?? consecutiveRows,
    mask,
    inputs: [],
  };
}

/**
 * Closed-form segment arithmetic adds the regions' constants to lengths and tile bounds (up to maxLength,
 * 2^30) in 32-bit integers; constants up to 2^29 keep every such sum exact. Larger ones (a window of
 * 2^31 − 1 that simplify could not fold away) make the kernel visit every tile with the mask instead:
 * slower, never wrong.
 */
const largestRegionConstant = 2 ** 29;

function withSmallConstants(lowered: LoweredRegions): LoweredRegions | undefined {
  let small = true;
  JSON.stringify(lowered, (_key, value: unknown) => {
    if (typeof value === "number" && Math.abs(value) > largestRegionConstant) small = false;
    return value;
  });
  return small ? lowered : undefined;
}
