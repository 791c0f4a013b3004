import { diagnostic, DiagnosticError } from "../diagnostics/diagnostic.js";
import type { KernelLaunch } from "../ir/kernel/kernel.js";
import type { Estimator } from "../ir/estimate/estimator.js";
import type { InputRef } from "../ir/pattern/nodes.js";
import { assertNever } from "../util/hash.js";

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

/**
 * Vertical-slash's probabilities are rows × K floats a head: 8 GiB at 1M keys, 64 rows and 32 heads. Both
 * backends take the heads through that scratch in chunks: as many heads as fit `budgetBytes`. STP317 when
 * not even one head fits (WebGPU: the device's largest buffer).
 */
export function verticalSlashHeadChunk(heads: number, rows: number, keys: number, budgetBytes: number): number {
  const headBytes = 4 * rows * Math.max(1, keys);
  if (headBytes > budgetBytes) {
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
    throw new DiagnosticError([diagnostic("STP317", `the vertical-slash estimator needs ${mib(headBytes)} of probabilities a head (last_q ${rows} × ${keys} keys), more than this device's ${mib(budgetBytes)}`, {
      hint: "estimate from fewer last rows (a smaller last_q), or use a device with larger buffers",
    })]);
  }
  return Math.max(1, Math.min(heads, Math.floor(budgetBytes / headBytes)));
}

/**
 * XAttention's mass kernel keeps the scores of each query block's current cell rows (`cellRows` rows of
 * ⌈K / S⌉ cells, all heads) in a scratch the masses read, and runs over the query blocks in chunks: as many
 * blocks a launch as fit `budgetBytes`, at least one. STP317 when one query block alone exceeds
 * `largestBytes` (WebGPU: the device's largest buffer; 128 MiB at 1M keys, 32 heads, 8 rows, stride 8).
 */
export function xattentionBlockChunk(sizes: { K: number; H: number }, stride: number, cellRows: number, budgetBytes: number, largestBytes = Infinity): number {
  const blockBytes = 4 * sizes.H * cellRows * Math.ceil(Math.max(1, sizes.K) / stride);
  if (blockBytes > largestBytes) {
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
    throw new DiagnosticError([diagnostic("STP317", `the XAttention estimator needs ${mib(blockBytes)} of scores a query block (${sizes.H} heads × ${cellRows} cell rows × ${Math.ceil(sizes.K / stride)} cells), more than this device's ${mib(largestBytes)}`, {
      hint: "use a larger stride, fewer heads per launch, or a device with larger buffers",
    })]);
  }
  return Math.max(1, Math.floor(budgetBytes / blockBytes));
}

/**
 * How many q·k products one of the estimator's scores adds before it is scaled (checkScoreRange): XAttention
 * sums a cell's anti-diagonal of stride products, the others score one dot product at a time (block top-k's
 * pooled rows are means, no longer than the rows they pool).
 */
export function estimatorScoreTerms(estimator: Estimator): number {
  switch (estimator.kind) {
    case "xattention":
      return estimator.stride;
    case "verticalSlash":
    case "blockTopK":
      return 1;
    default:
      return assertNever(estimator, "estimator");
  }
}
