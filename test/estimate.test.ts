import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultBlockN } from "../backends/wgsl/schedule.js";
import { openWebGpu, type WebGpuContext } from "../backends/wgsl/device.js";
import { dispatchEstimator, type EstimatorOptions } from "../backends/wgsl/estimate/run.js";
import { rankSelectionLimit, selectTopWgsl } from "../backends/wgsl/estimate/select-top.js";
import { xattentionCellRows } from "../backends/wgsl/estimate/xattention.js";
import { xattentionBlockChunk } from "../backends/estimated-input.js";
import { AttentionBuffers, checkDeviceLimits, dispatchAttention, readInputsBack } from "../backends/wgsl/run.js";
import { estimateBlockTopK } from "../ir/estimate/block-top-k.js";
import { blockTopKDefaults, printEstimator, verticalSlashDefaults, type Estimator } from "../ir/estimate/estimator.js";
import { massRecovered, plantedBlockGroups, plantedBlocks, plantedVerticalSlash, type PlantedProblem } from "../bench/planted.js";
import { estimateVerticalSlash } from "../ir/estimate/vertical-slash.js";
import { estimateXAttention } from "../ir/estimate/xattention.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import type { Tensor3 } from "../ir/reference/dense-attention.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../ir/reference/tolerance.js";
import { lowerAttention } from "../passes/lower.js";
import { bindOrThrow, examplePattern, randomTensor } from "./helpers.js";
import { expectSameSelection, expectSelected, expectThresholdCut, onePackedInput, selectionCases, type SelectionCase } from "./selection.js";
import { settle } from "../backends/wgsl/settle.js";
import { roundedTo } from "../util/half.js";

/**
 * The estimators on the software adapter against their TS references (ir/estimate/), and estimate → build →
 * attend against the dense reference on the estimated mask. The device sums in f32 and the reference in
 * f64, so an index may differ only where its reference score is within 1e-5 (relative) of the last one kept.
 */
let gpu: WebGpuContext;
beforeAll(async () => {
  gpu = await openWebGpu();
}, 60_000);

interface Problem {
  readonly heads: number;
  readonly kvHeads: number;
  readonly qLen: number;
  readonly kvLen: number;
  readonly headDim: number;
  /** q = 0: every score ties, so the tie rule decides every selection. */
  readonly flat: boolean;
  readonly seed: number;
  /** The tensors' type on the device (f16: two halves a word, unpacked to f32); the references see them rounded. */
  readonly dtype: "f32" | "f16";
}

const problems = fc.record({
  gqa: fc.constantFrom<[number, number]>([1, 1], [2, 1], [4, 2]),
  kvLen: fc.integer({ min: 1, max: 400 }),
  queryFraction: fc.constantFrom(1, 1, 0.5, 0.1),
  headDim: fc.constantFrom(32, 64, 80),
  flat: fc.constantFrom(false, false, true),
  seed: fc.integer(),
  dtype: fc.constantFrom<"f32" | "f16">("f32", "f32", "f16"),
}).map(({ gqa: [heads, kvHeads], kvLen, queryFraction, headDim, flat, seed, dtype }): Problem => ({ heads, kvHeads, kvLen, qLen: Math.max(1, Math.round(kvLen * queryFraction)), headDim, flat, seed, dtype }));

/** Placeholder inputs of the right shapes: the estimator overwrites them on the device. */
function placeholders(name: "vertical_slash" | "block_sparse", problem: Problem, block: number): Record<string, unknown> {
  if (name === "vertical_slash") return { vertical: Array.from({ length: problem.heads }, () => []), slash: Array.from({ length: problem.heads }, () => []) };
  const rows = Math.ceil(problem.qLen / block), cols = Math.ceil(problem.kvLen / block);
  return { blocks: Array.from({ length: problem.heads }, () => Array.from({ length: rows }, () => new Array<number>(cols).fill(0))) };
}

/** Runs the estimator on the device; returns the inputs it wrote and the attention output on them. */
async function estimateOnDevice(name: "vertical_slash" | "block_sparse", params: Record<string, number>, estimator: Estimator, problem: Problem, q: Float32Array, k: Float32Array, v: Float32Array, options: EstimatorOptions = {}) {
  const block = params["block"] ?? 64;
  const shape = { qLen: problem.qLen, kvLen: problem.kvLen, heads: problem.heads, kvHeads: problem.kvHeads };
  const binding = bindOrThrow(examplePattern(name), shape, params, placeholders(name, problem, block));
  // K and V tiles of 32 keys fill 32 KiB at head dim 128: 16 keys there.
  const [launch] = lowerAttention(binding, 0, { headDim: problem.headDim, dtype: problem.dtype, blockM: 16, blockN: Math.min(32, defaultBlockN(problem.headDim)) });
  if (launch === undefined) throw new Error("no launch");
  checkDeviceLimits(gpu, [launch], binding.sizes);
  const buffers = new AttentionBuffers(gpu, { q, k, v }, binding.sizes, launch.kernel);
  try {
    await dispatchEstimator(gpu, estimator, launch, buffers, options);
    gpu.device.pushErrorScope("validation");
    await dispatchAttention(gpu, [launch], buffers);
    const error = await settle(() => gpu.device.popErrorScope());
    if (error !== null) throw new Error(`WebGPU validation failed: ${error.message}`);
    const inputs = await readInputsBack(gpu, launch, buffers);
    const out = new Float32Array(await readOut(buffers));
    return { inputs, out, estimated: bindOrThrow(examplePattern(name), shape, params, inputs) };
  } finally {
    buffers.destroy();
  }
}

async function readOut(buffers: AttentionBuffers): Promise<ArrayBuffer> {
  const staging = gpu.device.createBuffer({ size: buffers.outLength * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = gpu.device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffers.out, 0, staging, 0, buffers.outLength * 4);
  gpu.device.queue.submit([encoder.finish()]);
  await settle(() => staging.mapAsync(GPUMapMode.READ));
  const data = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  return data;
}

function tensors(problem: Problem): { q: Float32Array; k: Float32Array; v: Float32Array; q3: Tensor3; k3: Tensor3; v3: Tensor3 } {
  const { heads, kvHeads, qLen, kvLen, headDim: D, seed } = problem;
  const q = randomTensor(heads * qLen * D, seed, problem.flat ? 0 : 2), k = randomTensor(kvHeads * kvLen * D, seed + 1, 2), v = randomTensor(kvHeads * kvLen * D, seed + 2);
  const seen = (data: Float32Array): Float32Array => (problem.dtype === "f16" ? roundedTo(data, "f16") : data);
  return { q, k, v, q3: { shape: [heads, qLen, D], data: seen(q) }, k3: { shape: [kvHeads, kvLen, D], data: seen(k) }, v3: { shape: [kvHeads, kvLen, D], data: seen(v) } };
}

/** The attention output must equal the dense reference on the mask the estimator chose. */
function expectAttentionOn(estimated: ReturnType<typeof bindOrThrow>, t: ReturnType<typeof tensors>, out: Float32Array): void {
  const reference = denseAttention({ q: t.q3, k: t.k3, v: t.v3, maskOf: (h) => evaluateMask(estimated, h, 0) });
  const { maxAbsError, scale } = compareOutputs(reference.out, out);
  expect(maxAbsError / scale).toBeLessThanOrEqual(outputTolerance.f32);
}

/**
 * The shared selection kernel alone on the device: keys in, the chosen bits of a one-slot packed input out
 * (its directory entry says where the heads' leaves start and how many words each has).
 */
async function selectOnDevice(c: SelectionCase): Promise<Uint32Array> {
  const { device } = gpu;
  const buffer = (data: Uint32Array, usage: number): GPUBuffer => {
    const made = device.createBuffer({ size: Math.max(16, data.byteLength), usage: usage | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(made, 0, data);
    return made;
  };
  const aux = onePackedInput(c);
  const buffers = {
    keys: buffer(c.keys, GPUBufferUsage.STORAGE),
    selection: buffer(Uint32Array.of(c.count, c.n, 0, c.problems), GPUBufferUsage.UNIFORM),
    aux: buffer(aux, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC),
    limits: c.limits === undefined ? undefined : buffer(c.limits, GPUBufferUsage.STORAGE),
  };
  const staging = device.createBuffer({ size: aux.byteLength, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const code = selectTopWgsl(buffers.limits !== undefined);
    const pipeline = device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code }), entryPoint: "main" } });
    const entries = [buffers.keys, buffers.selection, buffers.aux, ...(buffers.limits === undefined ? [] : [buffers.limits])].map((resource, binding) => ({ binding, resource: { buffer: resource } }));
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(c.problems, 1, c.heads);
    pass.end();
    encoder.copyBufferToBuffer(buffers.aux, 0, staging, 0, aux.byteLength);
    device.queue.submit([encoder.finish()]);
    await settle(() => staging.mapAsync(GPUMapMode.READ));
    const bits = new Uint32Array(staging.getMappedRange().slice(16));
    staging.unmap();
    return bits;
  } finally {
    for (const made of [staging, buffers.keys, buffers.selection, buffers.aux, buffers.limits]) made?.destroy();
  }
}

describe("XAttention's scores scratch", () => {
  it("holds as many query blocks (all heads) as fit the budget, at least one, and refuses one block past the largest buffer (STP317)", () => {
    // 8 cell rows × 1024 cells × 4 heads × 4 bytes = 128 KiB a query block.
    expect(xattentionBlockChunk({ K: 8192, H: 4 }, 8, 8, 64 * 2 ** 20, 2 ** 30)).toBe(512);
    expect(xattentionBlockChunk({ K: 8192, H: 4 }, 8, 8, 100_000, 2 ** 30)).toBe(1);
    // 1M keys, 32 heads, stride 8: 128 MiB a query block.
    expect(() => xattentionBlockChunk({ K: 2 ** 20, H: 32 }, 8, 8, 64 * 2 ** 20, 2 ** 27 - 1)).toThrow(/STP317: the XAttention estimator needs 128\.0 MiB of scores a query block/);
  });
});

describe("the top-n selection kernel on the device", () => {
  it("keeps the n largest keys above −∞ (ties to the lower index, at most each problem's limit), by rank and by byte rounds", async () => {
    await fc.assert(fc.asyncProperty(selectionCases(rankSelectionLimit), async (c) => expectSelected(await selectOnDevice(c), c)), { numRuns: 30 });
  }, 240_000);
});

describe("estimators on the device", () => {
  it("vertical-slash selects the reference's columns and offsets, and the kernel attends exactly on them", async () => {
    // Short rows are selected by rank; rows past rankSelectionLimit keys by the counting rounds: both drawn.
    const long = fc.record({ kvLen: fc.integer({ min: rankSelectionLimit + 1, max: rankSelectionLimit + 700 }), qLen: fc.integer({ min: 1, max: 24 }), flat: fc.boolean(), seed: fc.integer() })
      .map(({ kvLen, qLen, flat, seed }): Problem => ({ heads: 2, kvHeads: 1, kvLen, qLen, headDim: 32, flat, seed, dtype: "f32" }));
    await fc.assert(
      fc.asyncProperty(fc.oneof({ arbitrary: problems, weight: 4 }, { arbitrary: long, weight: 1 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 4 }), fc.constantFrom(1, 3, 8),
        async (problem, lastQ, verticalSize, slashSize, firstColumns, nearDiagonals, chunk, logitKeys) => {
          const estimator: Estimator = { kind: "verticalSlash", vertical: "vertical", slash: "slash", lastQ, verticalSize, slashSize, firstColumns, nearDiagonals };
          const t = tensors(problem);
          const reference = estimateVerticalSlash(t.q3, t.k3, estimator);
          // The probabilities scratch holds `chunk` heads: the heads go through it in passes.
          const scratchBytes = chunk * 4 * Math.min(lastQ, problem.qLen) * problem.kvLen;
          // The logits kernel's keys per invocation: 1 on a GPU, 8 on a CPU adapter (3 leaves a ragged last workgroup).
          const { inputs, out, estimated } = await estimateOnDevice("vertical_slash", {}, estimator, problem, t.q, t.k, t.v, { scratchBytes, logitKeys });
          const vertical = inputs["vertical"] as number[][], slash = inputs["slash"] as number[][];
          for (let h = 0; h < problem.heads; h++) {
            expectSameSelection(vertical[h] ?? [], reference.vertical[h] ?? [], reference.columnScores[h] ?? [], `head ${h} columns`);
            expectSameSelection(slash[h] ?? [], reference.slash[h] ?? [], reference.diagonalScores[h] ?? [], `head ${h} offsets`);
          }
          expectAttentionOn(estimated, t, out);
        }),
      {
        numRuns: Number(process.env.STIPPLE_RUNS ?? 12),
        // The logits kernel stages q a tile of rows at a time (logitRowsPerTile: 64 at D 64): 140 last rows make
        // two whole tiles and a partial one, always drawn.
        examples: [[{ heads: 2, kvHeads: 1, kvLen: 300, qLen: 290, headDim: 64, flat: false, seed: 7, dtype: "f16" }, 140, 20, 20, 3, 5, 1, 1]],
      },
    );
  });

  it("block top-k selects the reference's key blocks per query block, and the kernel attends exactly on them", async () => {
    await fc.assert(
      fc.asyncProperty(problems, fc.integer({ min: 3, max: 48 }), fc.integer({ min: 0, max: 12 }), async (problem, block, topK) => {
        const estimator: Estimator = { kind: "blockTopK", blocks: "blocks", block, topK };
        const t = tensors(problem);
        const reference = estimateBlockTopK(t.q3, t.k3, estimator);
        const { inputs, out, estimated } = await estimateOnDevice("block_sparse", { block }, estimator, problem, t.q, t.k, t.v);
        const blocks = inputs["blocks"] as number[][][];
        for (let h = 0; h < problem.heads; h++) {
          (reference.blocks[h] ?? []).forEach((row, b) => {
            const chosen = (set: readonly number[]): number[] => set.flatMap((x, c) => (x === 1 ? [c] : []));
            expectSameSelection(chosen(blocks[h]?.[b] ?? []), chosen(row), reference.scores[h]?.[b] ?? [], `head ${h} query block ${b}`);
          });
        }
        expectAttentionOn(estimated, t, out);
      }),
      { numRuns: Number(process.env.STIPPLE_RUNS ?? 12) },
    );
  });

  it("xattention keeps the forced blocks and the fewest heaviest blocks whose reference mass reaches the threshold, and the kernel attends exactly on them", async () => {
    await fc.assert(
      // A block's cell rows are scored xattentionCellRows at a time: blocks of more cells take several passes.
      // The scores scratch holds 1, 2 or 3 query blocks (all heads), or all of them: the mass kernel runs in
      // chunks of query blocks.
      fc.asyncProperty(problems, fc.constantFrom(1, 2, 4, 8), fc.integer({ min: 1, max: xattentionCellRows + 4 }), fc.constantFrom(0.3, 0.6, 0.8, 0.9, 0.95, 1), fc.constantFrom(1, 2, 3, Infinity), async (problem, stride, cells, threshold, chunkBlocks) => {
        const block = stride * cells;
        const estimator: Estimator = { kind: "xattention", blocks: "blocks", block, stride, threshold };
        const t = tensors(problem);
        const reference = estimateXAttention(t.q3, t.k3, estimator);
        const blockBytes = 4 * problem.heads * xattentionCellRows * Math.ceil(problem.kvLen / stride);
        const options = chunkBlocks === Infinity ? {} : { scratchBytes: chunkBlocks * blockBytes };
        const { inputs, out, estimated } = await estimateOnDevice("block_sparse", { block }, estimator, problem, t.q, t.k, t.v, options);
        const blocks = inputs["blocks"] as number[][][];
        for (let h = 0; h < problem.heads; h++) {
          (reference.blocks[h] ?? []).forEach((expected, b) => {
            const chosen = blocks[h]?.[b] ?? [];
            if (chosen.join() === expected.join()) return;
            expectThresholdCut(chosen, reference.masses[h]?.[b] ?? new Float64Array(0), reference.scores[h]?.[b] ?? [], threshold, `head ${h} query block ${b}: device ${chosen.join("")}, reference ${expected.join("")}`);
          });
        }
        expectAttentionOn(estimated, t, out);
      }),
      {
        numRuns: Number(process.env.STIPPLE_RUNS ?? 12),
        // Blocks of 10 cells of stride 2 against 300 keys: passes of 8 and 2 cell rows, always drawn.
        examples: [[{ heads: 2, kvHeads: 1, kvLen: 300, qLen: 300, headDim: 32, flat: false, seed: 11, dtype: "f16" }, 2, 10, 0.9, 2]],
      },
    );
  });

  it("each estimator recovers at least 95 % of the attention mass on q/k with planted lines or blocks", async () => {
    const shape = { heads: 2, length: 512, headDim: 128 };
    const lines = plantedVerticalSlash(shape, 4, 2), blocks = plantedBlocks(shape, 32, 2);
    const cases: [ "vertical_slash" | "block_sparse", Estimator, PlantedProblem, Record<string, number>][] = [
      ["vertical_slash", { kind: "verticalSlash", vertical: "vertical", slash: "slash", lastQ: 64, verticalSize: 12, slashSize: 24, firstColumns: 2, nearDiagonals: 16 }, lines, {}],
      ["block_sparse", { kind: "blockTopK", blocks: "blocks", block: 32, topK: 3 }, blocks, { block: 32 }],
      ["block_sparse", { kind: "xattention", blocks: "blocks", block: 32, stride: 8, threshold: 0.9 }, blocks, { block: 32 }],
    ];
    for (const [name, estimator, planted, params] of cases) {
      const problem: Problem = { heads: 2, kvHeads: 2, qLen: 512, kvLen: 512, headDim: 128, flat: false, seed: 0, dtype: "f32" };
      const { estimated } = await estimateOnDevice(name, params, estimator, problem, planted.q.data, planted.k.data, planted.v.data);
      const recovered = massRecovered(planted.q, planted.k, (h) => evaluateMask(estimated, h, 0));
      expect(recovered, printEstimator(estimator)).toBeGreaterThanOrEqual(0.95);
    }
  });

  it("plants block groups with equal logits, and XAttention keeps about the planted blocks", () => {
    const strength = 32, D = 16, block = 64, perRow = 3;
    const { q, k, planted } = plantedBlockGroups({ heads: 1, length: 2048, headDim: D, strength }, block, perRow);
    const rows = planted.blocks?.[0] ?? [];
    const logit = (i: number, j: number): number => q.data.slice(i * D, (i + 1) * D).reduce((sum, x, d) => sum + x * (k.data[j * D + d] ?? 0), 0) / Math.sqrt(D);
    for (const i of [0, 700, 2047]) {
      const own = rows[Math.floor(i / block)] ?? [];
      for (let j = 0; j <= i; j += 37) expect(logit(i, j)).toBeCloseTo(own.includes(Math.floor(j / block)) ? strength : 0, 3);
    }
    const chosen = estimateXAttention(q, k, { kind: "xattention", blocks: "blocks", block, stride: 8, threshold: 0.9 }).blocks[0] ?? [];
    let plantedCount = 0, keptPlanted = 0;
    chosen.forEach((row, b) => row.forEach((kept, c) => {
      const isPlanted = (rows[b] ?? []).includes(c);
      plantedCount += isPlanted ? 1 : 0;
      keptPlanted += isPlanted && kept === 1 ? 1 : 0;
      if (kept === 1) expect(isPlanted || c === 0, `block (${b}, ${c})`).toBe(true);
    }));
    expect(keptPlanted / plantedCount).toBeGreaterThan(0.8);
  });

  it("has MInference's defaults", () => {
    expect(verticalSlashDefaults).toEqual({ lastQ: 64, verticalSize: 1000, slashSize: 6096, firstColumns: 30, nearDiagonals: 100 });
    expect(blockTopKDefaults).toEqual({ block: 64, topK: 100 });
  });
});
