import fc from "fast-check";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openCuda, type CudaContext } from "../../backends/cuda/device.js";
import { runCudaEstimatedAttention } from "../../backends/cuda/estimate-run.js";
import { loadedFunction, runCudaAttention } from "../../backends/cuda/run.js";
import { cudaRankSelectionLimit, cudaSelectThreads, orderKeyCuda, selectTopCuda } from "../../backends/cuda/select-top.js";
import { bindPattern, withInputs } from "../../compiler/bind.js";
import { estimateVerticalSlash } from "../../ir/estimate/vertical-slash.js";
import { estimateXAttention } from "../../ir/estimate/xattention.js";
import { estimateBlockTopK } from "../../ir/estimate/block-top-k.js";
import { expectSameSelection, expectSelected, expectThresholdCut, onePackedInput, selectionCases } from "../selection.js";
import { cudaLowering, type CudaElement } from "../../backends/cuda/schedule.js";
import { evaluateMask } from "../../ir/mask/evaluate.js";
import type { Binding } from "../../ir/pattern/binding.js";
import { denseAttention } from "../../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../../ir/reference/tolerance.js";
import { lowerAttention, type KernelVariant } from "../../passes/lower.js";
import { roundedTo } from "../../util/half.js";
import { dynamicExample, dynamicExampleNames } from "../dynamic-cases.js";
import { staticExampleParams } from "../example-params.js";
import { bindOrThrow, examplePattern, randomTensor } from "../helpers.js";

/**
 * The CUDA kernels (static ones, and dynamic ones after their device-built tile index) executed on an NVIDIA
 * GPU and compared with the Float64 dense reference, evaluated on
 * the inputs rounded as the kernel sees them (tolerances: ir/reference/tolerance.ts). Run by `npm run
 * test:gpu` only (vitest.gpu.config.ts): it needs the driver and a device of compute capability ≥ 8.0, and
 * fails, never skips, without them. Every run is bounds-guarded.
 */
let gpu: CudaContext;

beforeAll(() => {
  gpu = openCuda(Number(process.env["STIPPLE_CUDA_DEVICE"] ?? 0));
  process.stdout.write(`CUDA device: ${gpu.description}\n`);
});

// Progress as each property ends: vitest reports a file's results when the file ends, and the GPU session
// stops a stage at its time limit, so without this a stopped run would say nothing of what passed.
let started = 0;
beforeEach(() => {
  started = performance.now();
});
afterEach((context) => {
  console.log(`${context.task.result?.state === "fail" ? "FAILED" : "done"}: ${context.task.name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
});

function checkAgainstReference(binding: Binding, layer: number, headDim: number, element: CudaElement, seed: number, variant: KernelVariant = "sparse", magnitude = 1, splits: "auto" | number = "auto"): void {
  const { Q, K, H, KVH } = binding.sizes;
  const q = randomTensor(H * Q * headDim, seed, magnitude);
  const k = randomTensor(KVH * K * headDim, seed + 1, magnitude);
  const v = randomTensor(KVH * K * headDim, seed + 2);
  const launches = lowerAttention(binding, layer, { headDim, dtype: element, ...cudaLowering, variant });
  const result = runCudaAttention(gpu, launches, { q, k, v }, binding.sizes, { guard: true, splits });
  const reference = denseAttention({
    q: { shape: [H, Q, headDim], data: roundedTo(q, element) },
    k: { shape: [KVH, K, headDim], data: roundedTo(k, element) },
    v: { shape: [KVH, K, headDim], data: roundedTo(v, element) },
    maskOf: (h) => evaluateMask(binding, h, layer),
  });
  const where = `${binding.pattern.name} ${element} D=${headDim} Q=${Q} K=${K} H=${H}/${KVH}`;
  const { maxAbsError, scale } = compareOutputs(reference.out, result.out);
  expect(maxAbsError / scale, `max abs error of ${where}`).toBeLessThanOrEqual(outputTolerance[element]);
  reference.lse.forEach((x, at) => {
    const got = result.lse[at] ?? Number.NaN;
    if (x === -Infinity) expect(got, `lse of an empty row, ${where}`).toBe(-Infinity);
    else expect(Math.abs(x - got), `lse, ${where}`).toBeLessThanOrEqual(2e-3 * Math.max(1, Math.abs(x)));
  });
}

const examples = staticExampleParams(200);

const shapes = fc.record({
  kvLen: fc.integer({ min: 1, max: 1500 }),
  queryFraction: fc.constantFrom(1, 1, 0.5, 0),
  headDim: fc.constantFrom(32, 64, 128, 80, 96, 144, 16, 192, 256),
  element: fc.constantFrom<CudaElement>("f16", "bf16"),
  gqa: fc.constantFrom<[number, number]>([1, 1], [2, 1], [4, 2], [2, 2], [8, 1]),
  layers: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer(),
});

describe("CUDA kernels on the GPU", () => {
  for (const [name, params] of examples) {
    it(`${name}: random parameters, lengths, head dims, element types and GQA ratios match the dense reference`, () => {
      const pattern = examplePattern(name);
      fc.assert(
        fc.property(params, shapes, (values, shape) => {
          const qLen = Math.max(1, Math.round(shape.kvLen * shape.queryFraction));
          const [heads = 1, kvHeads = 1] = shape.gqa;
          const inputs = name === "duo" ? { retrieval: Array.from({ length: shape.layers }, (_, l) => Array.from({ length: kvHeads }, (_, h) => (l + h + shape.seed) & 1)) } : {};
          const binding = bindOrThrow(pattern, { qLen, kvLen: shape.kvLen, heads, kvHeads, layers: shape.layers }, values, inputs);
          checkAgainstReference(binding, Math.abs(shape.seed) % shape.layers, shape.headDim, shape.element, shape.seed);
        }),
        { numRuns: Number(process.env["STIPPLE_RUNS"] ?? 40) },
      );
    }, 600_000);
  }

  it("dynamic patterns (vertical_slash, block_sparse, document): the device-built tile index and the kernel match the reference", () => {
    fc.assert(
      fc.property(fc.constantFrom(...dynamicExampleNames), shapes, fc.integer({ min: 1, max: 200 }), (name, shape, block) => {
        const qLen = Math.max(1, Math.round(shape.kvLen * shape.queryFraction));
        const [heads = 1, kvHeads = 1] = shape.gqa;
        const binding = dynamicExample(name, { qLen, kvLen: shape.kvLen, heads, kvHeads }, block, shape.seed);
        checkAgainstReference(binding, 0, shape.headDim, shape.element, shape.seed);
        // The same inputs read everywhere, no index: masked-dense agrees too.
        checkAgainstReference(binding, 0, shape.headDim, shape.element, shape.seed, "maskedDense");
      }),
      { numRuns: Number(process.env["STIPPLE_RUNS"] ?? 40) },
    );
  }, 600_000);

  it("decode (Q 1–16 against long K) splits the keys over blocks (split-K), merged by the lse, and matches the reference", () => {
    fc.assert(
      fc.property(fc.constantFrom(...examples.map(([name]) => name)), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 20000 }), fc.constantFrom<"auto" | number>("auto", 1, 2, 7, 64), fc.integer(), (name, qLen, kvLen, splits, seed) => {
          const inputs = name === "duo" ? { retrieval: [[seed & 1, (seed >> 1) & 1]] } : {};
          const binding = bindOrThrow(examplePattern(name), { qLen, kvLen, heads: 8, kvHeads: 2 }, {}, inputs);
          checkAgainstReference(binding, 0, 128, "bf16", seed, "sparse", 1, splits);
        }),
      { numRuns: Number(process.env["STIPPLE_RUNS"] ?? 40) },
    );
  }, 600_000);

  it("block top-k estimated on the GPU chooses the reference's blocks, and the kernel attends exactly on them", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(16, 64, 100), fc.integer({ min: 1, max: 12 }), fc.constantFrom<CudaElement>("f16", "bf16"), fc.integer(), (kvLen, block, topK, element, seed) => {
        const bound = bindPattern(examplePattern("block_sparse"), { shape: { qLen: kvLen, kvLen, heads: 4, kvHeads: 2 }, params: new Map([["block", block]]), inputs: new Map(), estimated: new Set(["blocks"]) });
        if (!bound.ok) throw new Error("does not bind");
        const estimator = { kind: "blockTopK", blocks: "blocks", block, topK } as const;
        const q = randomTensor(4 * kvLen * 64, seed, 2), k = randomTensor(2 * kvLen * 64, seed + 1, 2), v = randomTensor(2 * kvLen * 64, seed + 2);
        const launches = lowerAttention(bound.value, 0, { headDim: 64, dtype: element, ...cudaLowering });
        const result = runCudaEstimatedAttention(gpu, estimator, launches, { q, k, v }, bound.value.sizes, { guard: true });
        const seen = { q: roundedTo(q, element), k: roundedTo(k, element), v: roundedTo(v, element) };
        const reference = estimateBlockTopK({ shape: [4, kvLen, 64], data: seen.q }, { shape: [2, kvLen, 64], data: seen.k }, estimator);
        const chosen = result.inputs["blocks"] as number[][][];
        const indices = (row: readonly number[]): number[] => row.flatMap((x, c) => (x === 1 ? [c] : []));
        reference.blocks.forEach((rows, h) => rows.forEach((row, b) => expectSameSelection(indices(chosen[h]?.[b] ?? []), indices(row), reference.scores[h]?.[b] ?? [], `head ${h} block ${b}`)));
        const estimated = withInputs(bound.value, result.inputs);
        if (!estimated.ok) throw new Error("the chosen blocks do not bind");
        const dense = denseAttention({ q: { shape: [4, kvLen, 64], data: seen.q }, k: { shape: [2, kvLen, 64], data: seen.k }, v: { shape: [2, kvLen, 64], data: seen.v }, maskOf: (h) => evaluateMask(estimated.value, h, 0) });
        const { maxAbsError, scale } = compareOutputs(dense.out, result.out);
        expect(maxAbsError / scale).toBeLessThanOrEqual(outputTolerance[element]);
      }),
      { numRuns: Number(process.env["STIPPLE_RUNS"] ?? 40) },
    );
  }, 600_000);

  it("vertical-slash estimated on the GPU chooses the reference's columns and offsets, and the kernel attends exactly on them", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), fc.constantFrom<CudaElement>("f16", "bf16"), fc.integer(), (kvLen, lastQ, verticalSize, slashSize, element, seed) => {
        const bound = bindPattern(examplePattern("vertical_slash"), { shape: { qLen: kvLen, kvLen, heads: 4, kvHeads: 2 }, params: new Map(), inputs: new Map(), estimated: new Set(["vertical", "slash"]) });
        if (!bound.ok) throw new Error("does not bind");
        const estimator = { kind: "verticalSlash", vertical: "vertical", slash: "slash", lastQ, verticalSize, slashSize, firstColumns: 4, nearDiagonals: 16 } as const;
        const q = randomTensor(4 * kvLen * 64, seed, 2), k = randomTensor(2 * kvLen * 64, seed + 1, 2), v = randomTensor(2 * kvLen * 64, seed + 2);
        const launches = lowerAttention(bound.value, 0, { headDim: 64, dtype: element, ...cudaLowering });
        const result = runCudaEstimatedAttention(gpu, estimator, launches, { q, k, v }, bound.value.sizes, { guard: true });
        const seen = { q: roundedTo(q, element), k: roundedTo(k, element), v: roundedTo(v, element) };
        const reference = estimateVerticalSlash({ shape: [4, kvLen, 64], data: seen.q }, { shape: [2, kvLen, 64], data: seen.k }, estimator);
        const vertical = result.inputs["vertical"] as number[][], slash = result.inputs["slash"] as number[][];
        for (let h = 0; h < 4; h++) {
          expectSameSelection(vertical[h] ?? [], reference.vertical[h] ?? [], reference.columnScores[h] ?? [], `head ${h} columns`);
          expectSameSelection(slash[h] ?? [], reference.slash[h] ?? [], reference.diagonalScores[h] ?? [], `head ${h} offsets`);
        }
        const estimated = withInputs(bound.value, result.inputs);
        if (!estimated.ok) throw new Error("the chosen columns and offsets do not bind");
        const dense = denseAttention({ q: { shape: [4, kvLen, 64], data: seen.q }, k: { shape: [2, kvLen, 64], data: seen.k }, v: { shape: [2, kvLen, 64], data: seen.v }, maskOf: (h) => evaluateMask(estimated.value, h, 0) });
        const { maxAbsError, scale } = compareOutputs(dense.out, result.out);
        expect(maxAbsError / scale).toBeLessThanOrEqual(outputTolerance[element]);
      }),
      { numRuns: Number(process.env["STIPPLE_RUNS"] ?? 30) },
    );
  }, 600_000);

  // Blocks of 4–16 cells score on tensor cores, those of 80 on CUDA cores.
  it("XAttention estimated on the GPU keeps a threshold cut of the reference masses, and the kernel attends exactly on it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4000 }), fc.constantFrom(4, 8, 16), fc.constantFrom(4, 8, 16, 80), fc.constantFrom(0.6, 0.9, 0.95), fc.constantFrom<CudaElement>("f16", "bf16"), fc.integer(), (kvLen, stride, cells, threshold, element, seed) => {
        const block = stride * cells;
        const bound = bindPattern(examplePattern("block_sparse"), { shape: { qLen: kvLen, kvLen, heads: 4, kvHeads: 2 }, params: new Map([["block", block]]), inputs: new Map(), estimated: new Set(["blocks"]) });
        if (!bound.ok) throw new Error("does not bind");
        const estimator = { kind: "xattention", blocks: "blocks", block, stride, threshold } as const;
        const q = randomTensor(4 * kvLen * 64, seed, 2), k = randomTensor(2 * kvLen * 64, seed + 1, 2), v = randomTensor(2 * kvLen * 64, seed + 2);
        const launches = lowerAttention(bound.value, 0, { headDim: 64, dtype: element, ...cudaLowering });
        const result = runCudaEstimatedAttention(gpu, estimator, launches, { q, k, v }, bound.value.sizes, { guard: true });
        const seen = { q: roundedTo(q, element), k: roundedTo(k, element), v: roundedTo(v, element) };
        const reference = estimateXAttention({ shape: [4, kvLen, 64], data: seen.q }, { shape: [2, kvLen, 64], data: seen.k }, estimator);
        const chosen = result.inputs["blocks"] as number[][][];
        reference.blocks.forEach((rows, h) => rows.forEach((expected, b) => {
          const mine = chosen[h]?.[b] ?? [];
          if (mine.join() !== expected.join()) expectThresholdCut(mine, reference.masses[h]?.[b] ?? new Float64Array(0), reference.scores[h]?.[b] ?? [], threshold, `head ${h} block ${b}`);
        }));
        const estimated = withInputs(bound.value, result.inputs);
        if (!estimated.ok) throw new Error("the chosen blocks do not bind");
        const dense = denseAttention({ q: { shape: [4, kvLen, 64], data: seen.q }, k: { shape: [2, kvLen, 64], data: seen.k }, v: { shape: [2, kvLen, 64], data: seen.v }, maskOf: (h) => evaluateMask(estimated.value, h, 0) });
        const { maxAbsError, scale } = compareOutputs(dense.out, result.out);
        expect(maxAbsError / scale).toBeLessThanOrEqual(outputTolerance[element]);
      }),
      { numRuns: Number(process.env["STIPPLE_RUNS"] ?? 30) },
    );
  }, 600_000);

  it("the causal-dense and masked-dense baselines match the reference too", () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 777, kvLen: 1030, heads: 4, kvHeads: 2 }, { sink: 3, window: 170 });
    checkAgainstReference(binding, 0, 128, "bf16", 7, "maskedDense");
    const causal = bindOrThrow(examplePattern("prefix_lm"), { qLen: 1000, kvLen: 1000 }, { prefix: 0 });
    checkAgainstReference(causal, 0, 64, "f16", 9, "causalDense");
  });

  it("stays finite with large scores (online softmax rescaling under f16 inputs)", () => {
    const binding = bindOrThrow(examplePattern("sliding_window"), { qLen: 600, kvLen: 600, heads: 2, kvHeads: 1 }, { window: 300 });
    checkAgainstReference(binding, 0, 128, "f16", 21, "sparse", 8);
  });

  it("gives 0 and lse −∞ on rows that keep nothing", () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 100, kvLen: 140 }, { sink: 0, window: 0 });
    checkAgainstReference(binding, 0, 64, "f16", 3);
  });

  it("the top-n selection kernel alone (real atomics and barriers) keeps the n largest keys, ties to the lower index, by rank and by byte rounds", () => {
    const select = loadedFunction(gpu, "test/select-top", "stipple_select", () => `${orderKeyCuda}${selectTopCuda("stipple_select")}`);
    const { driver } = gpu;
    fc.assert(
      fc.property(selectionCases(cudaRankSelectionLimit), (c) => {
        const aux = onePackedInput(c);
        const buffers = [c.keys, aux, c.limits ?? new Uint32Array(1)].map((data) => {
          const pointer = driver.alloc(data.byteLength);
          driver.upload(pointer, data);
          return pointer;
        });
        try {
          const [keys = 0n, packed = 0n, limits = 0n] = buffers;
          driver.launch(select, [c.problems, 1, c.heads], [cudaSelectThreads, 1, 1], [
            { kind: "pointer", value: keys }, { kind: "pointer", value: packed }, { kind: "pointer", value: c.limits === undefined ? 0n : limits },
            { kind: "int", value: c.count }, { kind: "int", value: c.n }, { kind: "int", value: 0 }, { kind: "int", value: c.problems },
          ]);
          driver.synchronize();
          driver.download(packed, aux);
        } finally {
          for (const pointer of buffers) driver.free(pointer);
        }
        expectSelected(aux.subarray(4), c);
      }),
      { numRuns: 60 },
    );
  });
});
