import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openWebGpu, type WebGpuContext } from "../backends/wgsl/device.js";
import { emitWgsl } from "../backends/wgsl/emit.js";
import { AttentionBuffers, buildTileIndexOnDevice, runAttention } from "../backends/wgsl/run.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { headContext } from "../ir/mask/interpret.js";
import { tileIndexMask } from "../ir/kernel/kernel.js";
import { buildTileIndex, denseLinesOf, tileIndexRow, tileIndexShape, tileIndexWords } from "../ir/plan/tile-index.js";
import type { Binding } from "../ir/pattern/binding.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../ir/reference/tolerance.js";
import { lowerAttention, type KernelVariant } from "../passes/lower.js";
import { roundedTo } from "../util/half.js";
import { lengths } from "../fuzz/arbitraries.js";
import { dynamicExample, dynamicExampleNames, longListsExample } from "./dynamic-cases.js";
import { staticExampleParams } from "./example-params.js";
import { bindOrThrow, examplePattern, randomTensor } from "./helpers.js";

/**
 * The WGSL kernels executed on the software adapter (Mesa llvmpipe through Dawn, or any adapter present)
 * and compared with the dense reference. There is no skip: without an adapter these tests fail.
 */
let gpu: WebGpuContext;

beforeAll(async () => {
  gpu = await openWebGpu();
  process.stdout.write(`WebGPU adapter: ${gpu.description}\n`);
}, 60_000);

afterAll(() => {
  // The device is kept for the whole process (see device.ts); nothing to release per test.
});

/** Tiles a head dimension allows in 16 KiB of workgroup memory for K and V. */
const blockNFor = (headDim: number): number => Math.min(64, Math.floor(16384 / (8 * headDim)));

/**
 * Runs the kernel and the Float64 reference on the same inputs, as the kernel sees them: f16 tensors are
 * rounded on the host, and the math is f32 either way, so both element types are held to 1e-4.
 */
async function checkAgainstReference(binding: Binding, layer: number, headDim: number, blockM: number, blockN: number, seed: number, variant: KernelVariant = "sparse", dtype: "f32" | "f16" = "f32", splits: "auto" | number = "auto"): Promise<void> {
  const { Q, K, H, KVH } = binding.sizes;
  const seen = (data: Float32Array): Float32Array => (dtype === "f16" ? roundedTo(data, "f16") : data);
  const q = randomTensor(H * Q * headDim, seed);
  const k = randomTensor(KVH * K * headDim, seed + 1);
  const v = randomTensor(KVH * K * headDim, seed + 2);
  const launches = lowerAttention(binding, layer, { headDim, dtype, blockM, blockN, variant });
  const result = await runAttention(gpu, launches, { q, k, v }, binding.sizes, { splits });
  const reference = denseAttention({
    q: { shape: [H, Q, headDim], data: seen(q) }, k: { shape: [KVH, K, headDim], data: seen(k) }, v: { shape: [KVH, K, headDim], data: seen(v) },
    maskOf: (h) => evaluateMask(binding, h, layer),
  });
  const { maxAbsError, scale } = compareOutputs(reference.out, result.out);
  expect(maxAbsError / scale, `max abs error of ${binding.pattern.name} (${dtype})`).toBeLessThanOrEqual(outputTolerance.f32);
  reference.lse.forEach((x, at) => {
    const got = result.lse[at] ?? Number.NaN;
    if (x === -Infinity) expect(got).toBe(-Infinity);
    else expect(Math.abs(x - got)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(x)));
  });
  expect(Array.from(result.out).some(Number.isNaN)).toBe(false);
}

const examples = staticExampleParams(90);

const shapes = fc.record({
  kvLen: fc.integer({ min: 1, max: 300 }),
  queryFraction: fc.constantFrom(1, 1, 0.5, 0),
  // The common head dims most often; 80 and 96 as Phi models use; 12 and 256, the small and large ends (at
  // 256 a tile holds 8 keys).
  headDim: fc.constantFrom(32, 64, 128, 64, 128, 80, 96, 12, 256),
  gqa: fc.constantFrom<[number, number]>([1, 1], [2, 1], [4, 2], [2, 2]),
  blockM: fc.constantFrom(16, 32, 64),
  narrow: fc.boolean(),
  layers: fc.integer({ min: 1, max: 4 }),
  dtype: fc.constantFrom<"f32" | "f16">("f32", "f32", "f16"),
  seed: fc.integer(),
});

describe("WGSL kernels on the software adapter", () => {
  for (const [name, params] of examples) {
    it(`${name}: random parameters, lengths, head dims and GQA ratios match the dense reference`, async () => {
      const pattern = examplePattern(name);
      await fc.assert(
        fc.asyncProperty(params, shapes, async (values, shape) => {
          const qLen = Math.max(1, Math.round(shape.kvLen * shape.queryFraction));
          const [heads = 1, kvHeads = 1] = shape.gqa;
          const inputs = name === "duo" ? { retrieval: Array.from({ length: shape.layers }, (_, l) => Array.from({ length: kvHeads }, (_, h) => (l + h + shape.seed) & 1)) } : {};
          const binding = bindOrThrow(pattern, { qLen, kvLen: shape.kvLen, heads, kvHeads, layers: shape.layers }, values, inputs);
          const blockN = shape.narrow ? 8 : blockNFor(shape.headDim);
          await checkAgainstReference(binding, Math.abs(shape.seed) % shape.layers, shape.headDim, shape.blockM, blockN, shape.seed, "sparse", shape.dtype);
        }),
        { numRuns: Number(process.env.STIPPLE_RUNS ?? 9) },
      );
    });
  }

  it("dynamic patterns (vertical_slash, block_sparse, document) read their inputs on the device and match the reference", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...dynamicExampleNames), shapes, fc.integer({ min: 1, max: 40 }), async (name, shape, block) => {
        const qLen = Math.max(1, Math.round(shape.kvLen * shape.queryFraction));
        const [heads = 1, kvHeads = 1] = shape.gqa;
        const binding = dynamicExample(name, { qLen, kvLen: shape.kvLen, heads, kvHeads }, block, shape.seed);
        await checkAgainstReference(binding, 0, shape.headDim, shape.blockM, shape.narrow ? 8 : blockNFor(shape.headDim), shape.seed, "sparse", shape.dtype);
      }),
      { numRuns: 24 },
    );
  });

  it("long lists over long keys: the gather paths filter them in rounds of BM words and match the reference, split or not", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 600, max: 3000 }), fc.constantFrom(16, 32), fc.constantFrom(8, 32), fc.constantFrom(1, 3), fc.integer(), async (qLen, kvLen, blockM, blockN, splits, seed) => {
        await checkAgainstReference(longListsExample({ qLen, kvLen }, seed), 0, 32, blockM, blockN, seed, "sparse", "f32", splits);
      }),
      { numRuns: 8 },
    );
  });

  it("the device index builder writes the host reference's tile index bit for bit", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...dynamicExampleNames), lengths(2000), fc.constantFrom(1, 16, 64), fc.constantFrom(1, 8, 32), fc.integer({ min: 1, max: 200 }), fc.integer(), async (name, { qLen, kvLen }, blockM, blockN, block, seed) => {
        const binding = dynamicExample(name, { qLen, kvLen, heads: 3, kvHeads: 1 }, block, seed);
        const [launch] = lowerAttention(binding, 0, { headDim: 32, dtype: "f32", blockM, blockN });
        if (launch === undefined) throw new Error("no launch");
        const buffers = new AttentionBuffers(gpu, { q: new Float32Array(3 * qLen * 32), k: new Float32Array(kvLen * 32), v: new Float32Array(kvLen * 32) }, binding.sizes, launch.kernel);
        try {
          const device = await buildTileIndexOnDevice(gpu, launch, buffers);
          const perHead = tileIndexWords(binding.sizes, launch.kernel);
          launch.heads.forEach((head, at) => {
            const host = buildTileIndex(tileIndexMask(launch.kernel), headContext(binding, head, 0), launch.kernel, denseLinesOf(launch.kernel), launch.kernel.mask);
            expect(Array.from(device.subarray(at * perHead, (at + 1) * perHead)), `${name} head ${head}`).toEqual(Array.from(host));
          });
        } finally {
          buffers.destroy();
        }
      }),
      { numRuns: 30 },
    );
  });

  it("tiles that listed lines fill are visited whole (full, no mask), and still match the reference", async () => {
    // A local band of 100 listed diagonals and a run of 40 sink columns, as MInference's budgets give.
    const band = Array.from({ length: 100 }, (_, o) => o);
    const binding = bindOrThrow(examplePattern("vertical_slash"), { qLen: 300, kvLen: 420, heads: 2, kvHeads: 1 }, {}, {
      vertical: [Array.from({ length: 40 }, (_, k) => k), [3, 200]], slash: [band, [0, ...band.slice(0, 50)]],
    });
    const [launch] = lowerAttention(binding, 0, { headDim: 32, dtype: "f32", blockM: 16, blockN: 16 });
    if (launch === undefined) throw new Error("no launch");
    const host = buildTileIndex(tileIndexMask(launch.kernel), headContext(binding, 0, 0), launch.kernel, denseLinesOf(launch.kernel), launch.kernel.mask);
    const shape = tileIndexShape(binding.sizes, launch.kernel);
    const fullTiles = Array.from({ length: shape.queryTiles }, (_, t) => tileIndexRow(host, shape, t).split("F").length - 1).reduce((a, b) => a + b, 0);
    const tileMaskOnly = buildTileIndex(tileIndexMask(launch.kernel), headContext(binding, 0, 0), launch.kernel, denseLinesOf(launch.kernel));
    const fullByTileMask = Array.from({ length: shape.queryTiles }, (_, t) => tileIndexRow(tileMaskOnly, shape, t).split("F").length - 1).reduce((a, b) => a + b, 0);
    expect(fullByTileMask, "the tile mask alone (lines left out) makes no band tile full").toBe(0);
    expect(fullTiles, "band and sink tiles are full").toBeGreaterThan(20);
    const buffers = new AttentionBuffers(gpu, { q: new Float32Array(2 * 300 * 32), k: new Float32Array(420 * 32), v: new Float32Array(420 * 32) }, binding.sizes, launch.kernel);
    try {
      const device = await buildTileIndexOnDevice(gpu, launch, buffers);
      expect(Array.from(device.subarray(0, host.length))).toEqual(Array.from(host));
    } finally {
      buffers.destroy();
    }
    await checkAgainstReference(binding, 0, 32, 16, 16, 5);
  });

  it("dense listed columns touch only the key tiles where some row keeps them (none past a causal tile's rows)", async () => {
    // 40 consecutive columns at keys 200..239: dense in key tiles 6 and 7, which causal rows below 192 never see.
    const binding = bindOrThrow(examplePattern("vertical_slash"), { qLen: 256, kvLen: 256, heads: 1, kvHeads: 1 }, {}, {
      vertical: [Array.from({ length: 40 }, (_, k) => 200 + k)], slash: [[0]],
    });
    const [launch] = lowerAttention(binding, 0, { headDim: 32, dtype: "f32", blockM: 64, blockN: 32 });
    if (launch === undefined) throw new Error("no launch");
    const host = buildTileIndex(tileIndexMask(launch.kernel), headContext(binding, 0, 0), launch.kernel, denseLinesOf(launch.kernel), launch.kernel.mask);
    const shape = tileIndexShape(binding.sizes, launch.kernel);
    expect([0, 1, 2, 3].map((t) => tileIndexRow(host, shape, t))).toEqual(["........", "........", "........", "......PP"]);
    const buffers = new AttentionBuffers(gpu, { q: new Float32Array(256 * 32), k: new Float32Array(256 * 32), v: new Float32Array(256 * 32) }, binding.sizes, launch.kernel);
    try {
      expect(Array.from((await buildTileIndexOnDevice(gpu, launch, buffers)).subarray(0, host.length))).toEqual(Array.from(host));
    } finally {
      buffers.destroy();
    }
    await checkAgainstReference(binding, 0, 32, 64, 32, 3);
  });

  it("the causal-dense and masked-dense baselines match the reference too", async () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 77, kvLen: 130, heads: 2, kvHeads: 1 }, { sink: 3, window: 17 });
    await checkAgainstReference(binding, 0, 64, 32, 32, 7, "maskedDense");
    const causal = bindOrThrow(examplePattern("prefix_lm"), { qLen: 77, kvLen: 130 }, { prefix: 0 });
    await checkAgainstReference(causal, 0, 64, 32, 32, 9, "causalDense");
    // A dynamic pattern visiting every tile: its inputs are read on the device without an index plan.
    const dynamic = bindOrThrow(examplePattern("vertical_slash"), { qLen: 77, kvLen: 130, heads: 2, kvHeads: 1 }, {}, { vertical: [[0, 64, 129], [5]], slash: [[0, 3], [0, 40]] });
    await checkAgainstReference(dynamic, 0, 32, 16, 32, 13, "maskedDense");
  });

  it("stays exact over a thousand keys at head dim 128 (llvmpipe dropped writes past 112 KiB here)", async () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 1000, kvLen: 1000, heads: 2, kvHeads: 1 }, { sink: 16, window: 300 });
    await checkAgainstReference(binding, 0, 128, 64, 16, 11);
  });

  it("gives 0 and lse −∞ on rows that keep nothing", async () => {
    // window 0 and no sink: every row is empty.
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 20, kvLen: 40 }, { sink: 0, window: 0 });
    await checkAgainstReference(binding, 0, 32, 16, 16, 3);
  });

  it("emits byte-identical WGSL for the same kernel, and one kernel serves every length", () => {
    const pattern = examplePattern("a_shape");
    const emit = (n: number): string => {
      const [launch] = lowerAttention(bindOrThrow(pattern, { qLen: n, kvLen: n }), 0, { headDim: 64, dtype: "f32", blockM: 64, blockN: 32 });
      if (launch === undefined) throw new Error("no kernel");
      return emitWgsl(launch.kernel);
    };
    expect(emit(100)).toBe(emit(100));
    expect(emit(100)).toBe(emit(5000));
  });
});
