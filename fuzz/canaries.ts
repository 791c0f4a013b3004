import { runEstimatedAttention } from "../backends/wgsl/estimate/attend.js";
import type { WebGpuContext } from "../backends/wgsl/device.js";
import { runAttention } from "../backends/wgsl/run.js";
import { defaultBlockN, wgslCapabilities } from "../backends/wgsl/schedule.js";
import { headDimsOf } from "../backends/head-dims.js";
import { bindPattern, estimatedInputs, withInputs } from "../compiler/bind.js";
import { nodeHost } from "../compiler/node-host.js";
import { compileProgram } from "../compiler/program.js";
import { DiagnosticError } from "../diagnostics/diagnostic.js";
import { estimatorOf } from "../ir/estimate/catalog.js";
import type { Dtype } from "../ir/kernel/kernel.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import type { Binding } from "../ir/pattern/binding.js";
import type { PatternDef } from "../ir/pattern/pattern.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../ir/reference/tolerance.js";
import { lowerAttention } from "../passes/lower.js";
import { roundedTo } from "../util/half.js";
import { randomInputs, randomParams, type Random } from "./random-inputs.js";

/**
 * The bounds-guard suite: every example on random shapes that stress the edges (Q = 1, K = 1, ragged tails,
 * tiles larger than the problem, GQA, f16, split-K, estimators), run with canary regions around every buffer
 * a kernel writes (outputs, split partials, tile indexes, estimated inputs), and checked against the dense
 * reference too. `npm run canaries -- --shapes 1000` is the long run; the tests run a share.
 */
export interface CanaryShape {
  readonly example: string;
  readonly qLen: number;
  readonly kvLen: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dtype: Dtype;
  readonly blockM: number;
  readonly blockN: number;
  readonly splits: number | "auto";
  readonly estimate: boolean;
}

export function loadExamplePatterns(): Map<string, PatternDef> {
  const names = ["a_shape", "sliding_window", "tri_shape", "dilated", "prefix_lm", "vertical_slash", "block_sparse", "xattention", "grid", "ladder", "document", "duo"];
  const program = compileProgram(names.map((name) => `examples/${name}.stip`), nodeHost);
  return new Map(names.map((name) => {
    const pattern = program.patterns.get(name);
    if (pattern === undefined) throw new Error(`example ${name} did not check`);
    return [name, pattern];
  }));
}

export function randomCanaryShape(random: Random, examples: ReadonlyMap<string, PatternDef>): CanaryShape {
  const names = [...examples.keys()];
  const example = names[random(names.length)] ?? "a_shape";
  const kvLen = random(8) === 0 ? 1 : 1 + random(300);
  const qLen = [kvLen, 1, 1 + random(kvLen)][random(3)] ?? kvLen;
  const kvHeads = 1 + random(2);
  // Mostly the common head dims; sometimes any the WGSL kernel takes (4 to 256 in steps of 4).
  const dims = headDimsOf(wgslCapabilities.headDims);
  const headDim = random(4) === 0 ? (dims[random(dims.length)] ?? 32) : ([32, 64][random(2)] ?? 32);
  // At 256, 16 KiB of workgroup memory still holds 8 keys.
  const blockNs = [8, 16, 32, 64].filter((n) => n <= defaultBlockN(headDim));
  return {
    example, qLen, kvLen, kvHeads, heads: kvHeads * (1 + random(3)), headDim,
    dtype: random(3) === 0 ? "f16" : "f32",
    blockM: [16, 32, 64][random(3)] ?? 64,
    blockN: blockNs[random(blockNs.length)] ?? 8,
    splits: random(2) === 0 ? "auto" : 1 + random(5),
    estimate: examples.get(example)?.estimator !== undefined && random(2) === 0,
  };
}

/** Runs one shape guarded; returns a problem (a damaged canary, a wrong output) or undefined. Bind refusals are fine. */
export async function checkCanaryShape(gpu: WebGpuContext, shape: CanaryShape, examples: ReadonlyMap<string, PatternDef>, random: Random): Promise<string | undefined> {
  const pattern = examples.get(shape.example);
  if (pattern === undefined) return `no example ${shape.example}`;
  const launchShape = { qLen: shape.qLen, kvLen: shape.kvLen, heads: shape.heads, kvHeads: shape.kvHeads };
  const params = randomParams(pattern, random);
  const estimated = shape.estimate ? estimatedInputs(pattern) : new Set<string>();
  if (!(estimated instanceof Set)) return estimated.message;
  const given = new Map([...randomInputs(pattern, params, launchShape, random)].filter(([name]) => !estimated.has(name)));
  const bound = bindPattern(pattern, { shape: launchShape, params, inputs: given, estimated });
  if (!bound.ok) return undefined;
  const { Q, K, H, KVH } = bound.value.sizes;
  const D = shape.headDim;
  const tensor = (length: number): Float32Array => Float32Array.from({ length }, () => (random(2001) - 1000) / 400);
  const q = tensor(H * Q * D), k = tensor(KVH * K * D), v = tensor(KVH * K * D);
  const launches = lowerAttention(bound.value, 0, { headDim: D, dtype: shape.dtype, blockM: shape.blockM, blockN: shape.blockN });
  const options = { guard: true, splits: shape.splits } as const;
  let estimator;
  try {
    estimator = shape.estimate ? estimatorOf(bound.value) : undefined;
  } catch (error) {
    if (error instanceof DiagnosticError) return undefined; // settings that do not fit the bound values: a coded refusal
    throw error;
  }
  let result;
  try {
    result = estimator === undefined
      ? { ...(await runAttention(gpu, launches, { q, k, v }, bound.value.sizes, options)), inputs: undefined }
      : await runEstimatedAttention(gpu, estimator, launches, { q, k, v }, bound.value.sizes, options);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  let binding: Binding = bound.value;
  if (result.inputs !== undefined) {
    const rebound = withInputs(bound.value, result.inputs);
    if (!rebound.ok) return `the estimated inputs do not bind: ${rebound.diagnostics.map((d) => d.message).join("; ")}`;
    binding = rebound.value;
  }
  const seen = (data: Float32Array): Float32Array => (shape.dtype === "f16" ? roundedTo(data, "f16") : data);
  const reference = denseAttention({
    q: { shape: [H, Q, D], data: seen(q) }, k: { shape: [KVH, K, D], data: seen(k) }, v: { shape: [KVH, K, D], data: seen(v) },
    maskOf: (head) => evaluateMask(binding, head, 0),
  });
  const { maxAbsError, scale } = compareOutputs(reference.out, result.out);
  const tolerance = outputTolerance[shape.dtype];
  return maxAbsError / scale <= tolerance ? undefined : `max abs error ${maxAbsError} (scale ${scale}) above ${tolerance}`;
}
