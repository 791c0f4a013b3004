import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { openWebGpu, type WebGpuContext } from "../backends/wgsl/device.js";
import { runAttention } from "../backends/wgsl/run.js";
import { splitsFor } from "../backends/split-k.js";
import { packFor } from "../backends/split-k.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import type { Binding } from "../ir/pattern/binding.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../ir/reference/tolerance.js";
import { lowerAttention } from "../passes/lower.js";
import { dynamicExample, dynamicExampleNames } from "./dynamic-cases.js";
import { staticExampleParams } from "./example-params.js";
import { bindOrThrow, examplePattern, randomTensor } from "./helpers.js";

/**
 * Decode: 1 to 16 query rows against many keys, the key tiles split over several workgroups per query tile
 * (split-K) and merged by their log-sum-exp, the query heads of a KV head packed into one workgroup or not.
 * Every example, static and dynamic, any number of splits (more than there are tiles too), outputs guarded
 * by canaries, against the dense reference.
 */
let gpu: WebGpuContext;
beforeAll(async () => {
  gpu = await openWebGpu();
}, 60_000);

const decodeShapes = fc.record({
  qLen: fc.integer({ min: 1, max: 16 }),
  kvLen: fc.integer({ min: 1, max: 1600 }),
  gqa: fc.constantFrom<[number, number]>([1, 1], [4, 1], [8, 2]),
  headDim: fc.constantFrom(32, 64, 96),
  blockM: fc.constantFrom(16, 64),
  blockN: fc.constantFrom(8, 32),
  splits: fc.constantFrom<"auto" | number>("auto", "auto", 1, 2, 3, 7, 40),
  pack: fc.boolean(),
  seed: fc.integer(),
});

type DecodeShape = typeof decodeShapes extends fc.Arbitrary<infer T> ? T : never;

async function expectDecodeMatches(binding: Binding, shape: DecodeShape): Promise<void> {
  const { Q, K, H, KVH } = binding.sizes;
  const D = shape.headDim;
  const q = randomTensor(H * Q * D, shape.seed), k = randomTensor(KVH * K * D, shape.seed + 1), v = randomTensor(KVH * K * D, shape.seed + 2);
  const launches = lowerAttention(binding, 0, { headDim: D, dtype: "f32", blockM: shape.blockM, blockN: shape.blockN });
  const result = await runAttention(gpu, launches, { q, k, v }, binding.sizes, { guard: true, splits: shape.splits, pack: shape.pack });
  const reference = denseAttention({ q: { shape: [H, Q, D], data: q }, k: { shape: [KVH, K, D], data: k }, v: { shape: [KVH, K, D], data: v }, maskOf: (h) => evaluateMask(binding, h, 0) });
  const { maxAbsError, scale } = compareOutputs(reference.out, result.out);
  expect(maxAbsError / scale, `${binding.pattern.name}, ${String(shape.splits)} splits`).toBeLessThanOrEqual(outputTolerance.f32);
  reference.lse.forEach((x, at) => {
    const got = result.lse[at] ?? Number.NaN;
    if (x === -Infinity) expect(got).toBe(-Infinity);
    else expect(Math.abs(x - got)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(x)));
  });
}

describe("decode with split-K on the software adapter", () => {
  it("every static example: split or not, the output and lse equal the reference", async () => {
    const examples = staticExampleParams(400);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...examples.keys()), decodeShapes, fc.integer(), async (which, shape, paramSeed) => {
        const [name, params] = examples[which] ?? ["a_shape", fc.constant({})];
        const values = fc.sample(params, { numRuns: 1, seed: paramSeed })[0] ?? {};
        const [heads, kvHeads] = shape.gqa;
        const inputs = name === "duo" ? { retrieval: [Array.from({ length: kvHeads }, (_, h) => (h + shape.seed) & 1)] } : {};
        await expectDecodeMatches(bindOrThrow(examplePattern(name), { qLen: shape.qLen, kvLen: Math.max(shape.qLen, shape.kvLen), heads, kvHeads }, values, inputs), shape);
      }),
      { numRuns: Number(process.env.STIPPLE_RUNS ?? 14) },
    );
  });

  it("dynamic examples (gathered columns and tile indexes) split the same way", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...dynamicExampleNames), decodeShapes, fc.integer({ min: 1, max: 64 }), async (name, shape, block) => {
        const [heads, kvHeads] = shape.gqa;
        await expectDecodeMatches(dynamicExample(name, { qLen: shape.qLen, kvLen: Math.max(shape.qLen, shape.kvLen), heads, kvHeads }, block, shape.seed), shape);
      }),
      { numRuns: Number(process.env.STIPPLE_RUNS ?? 8) },
    );
  });

  it("packed tiles that span two heads bound their rows by all positions (Q = 5 rows of 4 heads in 16 slots)", async () => {
    for (const name of ["a_shape", "sliding_window", "prefix_lm"] as const) {
      const params = { a_shape: { sink: 3, window: 7 }, sliding_window: { window: 9 }, prefix_lm: { prefix: 11 } }[name];
      const binding = bindOrThrow(examplePattern(name), { qLen: 5, kvLen: 300, heads: 8, kvHeads: 2 }, params);
      await expectDecodeMatches(binding, { qLen: 5, kvLen: 300, gqa: [8, 2], headDim: 32, blockM: 16, blockN: 8, splits: 1, pack: true, seed: 5 });
    }
  });

  it("packs the query heads of a KV head only for decode-sized, head-independent launches in whole groups", () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 4, kvLen: 4096, heads: 8, kvHeads: 2 }, { sink: 64, window: 1024 });
    const [launch] = lowerAttention(binding, 0, { headDim: 64, dtype: "f32", blockM: 64, blockN: 32 });
    if (launch === undefined) throw new Error("no launch");
    expect(packFor(launch.kernel, binding.sizes, [0, 1, 2, 3, 4, 5, 6, 7])).toBe(4);
    expect(packFor(launch.kernel, binding.sizes, [0, 1, 2, 4, 3, 5, 6, 7])).toBe(1);
    expect(packFor(launch.kernel, binding.sizes, [0, 1, 2])).toBe(1);
    expect(packFor(launch.kernel, { ...binding.sizes, Q: 64 }, [0, 1, 2, 3, 4, 5, 6, 7])).toBe(1);
    const dynamic = dynamicExample("vertical_slash", { qLen: 4, kvLen: 500, heads: 8, kvHeads: 2 }, 1, 1);
    const [tileIndexed] = lowerAttention(dynamic, 0, { headDim: 64, dtype: "f32", blockM: 64, blockN: 32 });
    expect(tileIndexed && packFor(tileIndexed.kernel, dynamic.sizes, tileIndexed.heads)).toBe(1);
  });

  it("splits only launches too small to fill the device, and never more than their key tiles allow", () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 4, kvLen: 65536, heads: 8, kvHeads: 2 }, { sink: 64, window: 1024 });
    const [launch] = lowerAttention(binding, 0, { headDim: 64, dtype: "f32", blockM: 64, blockN: 32 });
    if (launch === undefined) throw new Error("no launch");
    expect(splitsFor(launch.kernel, binding.sizes, 8, 128)).toBe(16);
    expect(splitsFor(launch.kernel, binding.sizes, 8, 2)).toBe(1);
    expect(splitsFor(launch.kernel, binding.sizes, 1, 2)).toBe(2);
    expect(splitsFor(launch.kernel, { ...binding.sizes, Q: 4096, K: 4096 }, 8, 128)).toBe(1);
    expect(splitsFor(launch.kernel, { ...binding.sizes, K: 400 }, 1, 128)).toBe(1);
  });
});
