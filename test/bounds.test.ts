import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { openWebGpu, type WebGpuContext } from "../backends/wgsl/device.js";
import { firstDamagedCanary } from "../backends/guard.js";
import { runAttention } from "../backends/wgsl/run.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { lowerAttention } from "../passes/lower.js";
import { bindOrThrow, examplePattern } from "./helpers.js";

/**
 * Bounds guard on the software adapter: outputs between canary regions, checked after every kernel, on
 * shapes that stress the edges (Q = 1, K = 1, ragged tails, tiles larger than the problem). The long run
 * (≥ 1,000 shapes) belongs to the fuzzing script; CI runs this share.
 */
let gpu: WebGpuContext;
beforeAll(async () => {
  // Robustness off: an out-of-bounds write must reach the canaries, not be clamped away by Dawn.
  gpu = await openWebGpu("auto", { robust: false });
}, 60_000);

describe("bounds guard", () => {
  it("detects a damaged canary", () => {
    const words = new Uint32Array(10).fill(0xdeadbeef);
    expect(firstDamagedCanary(words, 2)).toBeUndefined();
    words[9] = 0;
    expect(firstDamagedCanary(words, 2)).toBe(9);
  });

  it("kernels never write outside their outputs, on edge shapes of every example", async () => {
    const names = ["a_shape", "tri_shape", "dilated", "prefix_lm", "grid", "ladder", "vertical_slash", "block_sparse", "document"] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 140 })),
        fc.oneof(fc.constant(1), fc.constant(0.5), fc.constant(1.0)),
        fc.constantFrom(16, 32, 64),
        fc.constantFrom(8, 32, 64),
        fc.integer(),
        async (name, kvLen, fraction, blockM, blockN, seed) => {
          const qLen = fraction === 1 ? kvLen : Math.max(1, Math.floor(kvLen * fraction));
          const inputsByName: Record<string, Record<string, unknown>> = {
            vertical_slash: { vertical: [[0, kvLen - 1], [Math.floor(kvLen / 2)]], slash: [[0], [1 % kvLen]] },
            block_sparse: { blocks: [0, 1].map(() => Array.from({ length: Math.ceil(qLen / 64) }, () => Array.from({ length: Math.ceil(kvLen / 64) }, () => 1))) },
            document: { doc: Array.from({ length: kvLen }, (_, k) => (k < kvLen / 2 ? 0 : 1)) },
          };
          const binding = bindOrThrow(examplePattern(name), { qLen, kvLen, heads: 2, kvHeads: 1 }, {}, inputsByName[name] ?? {});
          const D = 32;
          const data = (n: number, s: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s + seed));
          const q = data(2 * qLen * D, 1), k = data(kvLen * D, 2), v = data(kvLen * D, 3);
          const result = await runAttention(gpu, lowerAttention(binding, 0, { headDim: D, dtype: "f32", blockM, blockN }), { q, k, v }, binding.sizes, { guard: true });
          const reference = denseAttention({ q: { shape: [2, qLen, D], data: q }, k: { shape: [1, kvLen, D], data: k }, v: { shape: [1, kvLen, D], data: v }, maskOf: (h) => evaluateMask(binding, h, 0) });
          reference.out.forEach((x, at) => expect(Math.abs(x - (result.out[at] ?? Number.NaN))).toBeLessThan(1e-4));
        },
      ),
      { numRuns: 30 },
    );
  });
});
