import { bindPattern, withInputs } from "../compiler/bind.js";
import { nodeHost } from "../compiler/node-host.js";
import { compileProgram } from "../compiler/program.js";
import type { Estimator } from "../ir/estimate/estimator.js";
import type { Binding } from "../ir/pattern/binding.js";
import { causalShare } from "../ir/plan/stats.js";
import { blockGroupSize, plantedBlockGroups, plantedBlocks, plantedVerticalSlash, type PlantedProblem } from "./planted.js";

/**
 * The dynamic-sparsity cases both backends' benchmarks time (wgsl-dynamic.ts, cuda-gpu.ts): an example, its
 * parameters, the estimator that chooses its inputs, and q/k with that structure planted.
 */
export interface Case {
  readonly example: "vertical_slash" | "block_sparse" | "xattention";
  readonly params: Record<string, number>;
  readonly estimator: Estimator;
  readonly planted: (shape: { heads: number; length: number; headDim: number }) => PlantedProblem;
  /** Names what `planted` makes at a given shape: cases with the same name may share one planted q/k. */
  readonly planting: string;
}

export function binding(example: string, params: Record<string, number>, length: number, heads: number, estimated: readonly string[]): Binding {
  const pattern = compileProgram([`examples/${example}.stip`], nodeHost).patterns.get(example);
  if (pattern === undefined) throw new Error(`example ${example} does not check`);
  const bound = bindPattern(pattern, { params: new Map(Object.entries(params)), shape: { qLen: length, kvLen: length, heads }, estimated: new Set(estimated) });
  if (!bound.ok) throw new Error(`cannot bind ${example}: ${bound.diagnostics.map((d) => d.message).join("; ")}`);
  return bound.value;
}

export function rebound(base: Binding, inputs: Record<string, unknown>): Binding {
  const bound = withInputs(base, inputs);
  if (!bound.ok) throw new Error("estimated inputs do not bind");
  return bound.value;
}

export const share = (b: Binding): number => causalShare(b, 0);

export const outputsOf = (estimator: Estimator): string[] => (estimator.kind === "verticalSlash" ? [estimator.vertical, estimator.slash] : [estimator.blocks]);

/**
 * Recovery budgets fit what is planted, as a tuned deployment's would: vertical-slash keeps a local band of
 * 64 diagonals, a few more diagonals and twice the planted columns (budgets far above the planted lines fill
 * themselves with noise-chosen far diagonals, each costing about three key tiles per query tile); the block
 * estimators keep about a twentieth of the key blocks.
 */
export function recoveryCases(length: number): Case[] {
  const block = 64;
  return [
    verticalSlashCase(length, 64),
    blockTopKCase(length, Math.max(2, Math.round(length / block / 20))),
    xattentionCase(Math.max(1, Math.round(length / block / 20) - 1)),
  ];
}

const xattentionEstimator: Estimator = { kind: "xattention", blocks: "blocks", block: 64, stride: 8, threshold: 0.9 };

/** XAttention (stride 8, threshold 0.9) on q/k with `perRow` earlier key blocks planted per query block besides its diagonal. */
function xattentionCase(perRow: number): Case {
  return { example: "xattention", params: { block: 64 }, estimator: xattentionEstimator, planted: (shape) => plantedBlocks(shape, 64, perRow), planting: `blocks ${perRow}` };
}

/**
 * XAttention at about `density` of the causal pairs: planted block groups alike (plantedBlockGroups), as
 * many as that density takes; it keeps about 90 % of them, its threshold's share of their equal masses.
 */
function xattentionAtDensity(density: number): Case {
  const block = 64;
  return {
    example: "xattention", params: { block }, estimator: xattentionEstimator, planting: `block groups at ${density}`,
    planted: (shape) => {
      const groups = Math.ceil(Math.ceil(shape.length / block) / blockGroupSize(shape, block));
      // A query block's own group and perRow earlier ones, of the groups/2 a row reaches on average.
      return plantedBlockGroups(shape, block, Math.max(1, Math.round((density * groups) / 2) - 1));
    },
  };
}

/**
 * Vertical-slash keeping `band` nearest diagonals (the local window, where MInference's slash budget goes
 * first), 8 more chosen ones and twice the planted columns: about 2·band / L of the causal pairs.
 */
function verticalSlashCase(length: number, band: number): Case {
  return {
    example: "vertical_slash", params: {},
    estimator: { kind: "verticalSlash", vertical: "vertical", slash: "slash", lastQ: 64, verticalSize: 4 + Math.round((2 * length) / 128), slashSize: band + 8, firstColumns: 4, nearDiagonals: band },
    planted: (shape) => plantedVerticalSlash(shape, Math.round(shape.length / 128), 3),
    planting: "vertical-slash lines",
  };
}

/** Block top-k keeping `topK` of the ⌈L / 64⌉ key blocks per query block: about 2·topK·64 / L of the causal pairs. */
function blockTopKCase(length: number, topK: number): Case {
  const block = 64;
  return {
    example: "block_sparse", params: { block },
    estimator: { kind: "blockTopK", blocks: "blocks", block, topK },
    planted: (shape) => plantedBlocks(shape, block, Math.max(1, Math.round(length / block / 20) - 1)),
    planting: "blocks at a twentieth",
  };
}

/**
 * The timed cases: the densities the issue asks about (5–20 % of the causal pairs) for each estimator
 * (XAttention's follows what is planted).
 */
export function timedCases(length: number): Case[] {
  const blocks = length / 64;
  return [
    ...[0.05, 0.1, 0.2].map((density) => verticalSlashCase(length, Math.round((density * length) / 2 / 64) * 64)),
    ...[0.05, 0.1, 0.2].map((density) => blockTopKCase(length, Math.max(1, Math.ceil((density * blocks) / 2)))),
    ...[0.05, 0.1, 0.2].map(xattentionAtDensity),
  ];
}

