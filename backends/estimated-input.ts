import { diagnostic, DiagnosticError } from "../diagnostics/diagnostic.js";
import type { KernelLaunch } from "../ir/kernel/kernel.js";
import type { InputRef } from "../ir/pattern/nodes.js";

/** The runtime input an estimator writes: it must be the launch's, per query head, of the right kind. */
export function outputSlot(launch: KernelLaunch, name: string, kind: InputRef["kind"]): number {
  const slot = launch.kernel.inputs.findIndex((input) => input.name === name);
  const input = launch.kernel.inputs[slot];
  if (input === undefined || input.kind !== kind || input.dims.length !== 1 || input.dims[0] !== "H") {
    throw new DiagnosticError([diagnostic("STP314", `the estimator writes input \`${name}\`, which pattern ${launch.kernel.name} does not read as ${kind}[H]`, {
      hint: "an estimator fills a per-head input of its pattern: index[H] for vertical_slash, blocks[H](b, b) for block_top_k and xattention",
    })]);
  }
  return slot;
}

/**
 * The launch an estimator fills: a dynamic pattern lowers to one launch for every head (passes/lower.ts).
 * STP314 when the pattern declares the estimated inputs but, for these parameters, never reads them (it
 * lowered as static).
 */
export function estimatedLaunch(launches: readonly KernelLaunch[]): KernelLaunch {
  const [launch] = launches;
  if (launch === undefined || launches.length !== 1 || launch.kernel.inputs.length === 0) {
    throw new DiagnosticError([diagnostic("STP314", "for these parameters the pattern reads none of the inputs its estimator chooses", { hint: "run without --estimate: the kept set does not depend on them" })]);
  }
  return launch;
}

/**
 * XAttention stages a cell row's stride query rows (stride × head dim values) in workgroup (CUDA: shared)
 * memory: at most this many, 8 KiB of f32.
 */
export const maxStagedQuery = 2048;

/** STP314 when an XAttention stride stages more query values than maxStagedQuery (checked before any dispatch). */
export function checkStagedQuery(stride: number, headDim: number): void {
  if (stride * headDim > maxStagedQuery) {
    throw new DiagnosticError([diagnostic("STP314", `xattention stages stride × head dim = ${stride * headDim} query values per workgroup (CUDA: block), more than ${maxStagedQuery}`, { hint: "use a smaller stride" })]);
  }
}
