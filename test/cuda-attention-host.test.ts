import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cudaLowering, type CudaElement } from "../backends/cuda/schedule.js";
import { packFor } from "../backends/split-k.js";
import { kernelHash, type KernelLaunch } from "../ir/kernel/kernel.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import type { Binding } from "../ir/pattern/binding.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../ir/reference/tolerance.js";
import { lowerAttention, type KernelVariant } from "../passes/lower.js";
import { roundedTo, toHalfWords } from "../util/half.js";
import { hostAttention, hostCombine, hostVerticalSlash, type HostAttention, type HostCombine } from "./cuda-host.js";
import type { Estimator } from "../ir/estimate/estimator.js";
import { verticalSlashBudgets } from "../ir/estimate/vertical-slash.js";
import { unpackDeviceInputs } from "../ir/kernel/unpack-inputs.js";
import { dynamicExample, longListsExample } from "./dynamic-cases.js";
import { staticExampleParams } from "./example-params.js";
import { bindOrThrow, examplePattern, randomTensor } from "./helpers.js";

/**
 * The CUDA tensor-core attention kernel itself, run on the host: the text nvcc compiles, with its inline
 * PTX (ldmatrix, mma.sync, cvt) emulated lane by lane on fibers (test/cuda-host.ts, hostAttention), against
 * the dense reference on the inputs rounded to the kernel's 16-bit type. Its compiled-in parameters make one
 * kernel per property run, so runs are few and each checks several shapes. The device compile (nvcc, ptxas)
 * is cuda.test.ts; on a GPU, test/gpu/cuda-run.test.ts.
 */
const compiled = new Map<string, HostAttention>();
function hostFor(launch: KernelLaunch): HostAttention {
  const key = kernelHash(launch.kernel);
  let host = compiled.get(key);
  if (host === undefined) {
    host = hostAttention(launch.kernel);
    compiled.set(key, host);
  }
  return host;
}

const combines = new Map<number, HostCombine>();
function combineFor(headDim: number): HostCombine {
  let combine = combines.get(headDim);
  if (combine === undefined) {
    combine = hostCombine(headDim);
    combines.set(headDim, combine);
  }
  return combine;
}

interface Shape {
  readonly qLen: number;
  readonly kvLen: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly seed: number;
}

/** Every launch of the binding on the host (split `splits` ways, merged by the host combine), against the reference. */
function checkOnHost(binding: Binding, headDim: number, element: CudaElement, seed: number, variant: KernelVariant = "sparse", splits = 1, packing = false): void {
  const { Q, K, H, KVH } = binding.sizes;
  const q = randomTensor(H * Q * headDim, seed), k = randomTensor(KVH * K * headDim, seed + 1), v = randomTensor(KVH * K * headDim, seed + 2);
  const words = { q: toHalfWords(q, element), k: toHalfWords(k, element), v: toHalfWords(v, element) };
  const out = new Float32Array(H * Q * headDim).fill(Number.NaN), lse = new Float32Array(H * Q).fill(Number.NaN);
  for (const launch of lowerAttention(binding, 0, { headDim, dtype: element, ...cudaLowering, variant })) {
    const pack = packing ? packFor(launch.kernel, binding.sizes, launch.heads) : 1;
    if (packing) expect(pack, "a decode launch of whole GQA groups packs them").toBe(binding.sizes.H / binding.sizes.KVH);
    const partial = hostFor(launch).run(launch, binding.sizes, words, { splits, pack });
    const merged = splits === 1 ? partial : combineFor(headDim).run(partial.out, partial.lse, { splits, heads: H, q: Q }, launch.heads);
    for (const head of launch.heads) {
      out.set(merged.out.subarray(head * Q * headDim, (head + 1) * Q * headDim), head * Q * headDim);
      lse.set(merged.lse.subarray(head * Q, (head + 1) * Q), head * Q);
    }
  }
  const reference = denseAttention({
    q: { shape: [H, Q, headDim], data: roundedTo(q, element) },
    k: { shape: [KVH, K, headDim], data: roundedTo(k, element) },
    v: { shape: [KVH, K, headDim], data: roundedTo(v, element) },
    maskOf: (h) => evaluateMask(binding, h, 0),
  });
  const where = `${binding.pattern.name} ${variant} ${element} D=${headDim} Q=${Q} K=${K} H=${H}/${KVH} splits ${splits}${packing ? ", packed" : ""}`;
  expect(out.some(Number.isNaN), `a row left unwritten or NaN, ${where}`).toBe(false);
  const { maxAbsError, scale } = compareOutputs(reference.out, out);
  expect(maxAbsError / scale, `max abs error of ${where}`).toBeLessThanOrEqual(outputTolerance[element]);
  reference.lse.forEach((x, at) => {
    const got = lse[at] ?? Number.NaN;
    if (x === -Infinity) expect(got, `lse of an empty row, ${where}`).toBe(-Infinity);
    else expect(Math.abs(x - got), `lse, ${where}`).toBeLessThanOrEqual(2e-3 * Math.max(1, Math.abs(x)));
  });
}

const shape: fc.Arbitrary<Shape> = fc.record({
  kvLen: fc.integer({ min: 1, max: 260 }),
  queryFraction: fc.constantFrom(1, 1, 0.5, 0),
  gqa: fc.constantFrom<[number, number]>([1, 1], [2, 1], [3, 3], [4, 2]),
  seed: fc.integer(),
}).map(({ kvLen, queryFraction, gqa: [heads, kvHeads], seed }) => ({ qLen: Math.max(1, Math.round(kvLen * queryFraction)), kvLen, heads, kvHeads, seed }));

/**
 * Head dims and element types, dealt out over the examples: the common ones, the smallest and largest the
 * kernel takes, the largest with q in registers (144) and ones with q in shared memory (224, 256; 176 in the
 * dynamic tests), and ones where D / 16 is odd (16, 80: the QK loop's lone last step).
 */
const setups: readonly [number, CudaElement][] = [[64, "f16"], [80, "bf16"], [128, "f16"], [256, "bf16"], [16, "f16"], [224, "bf16"], [96, "bf16"], [144, "f16"]];

describe("the CUDA attention kernel, run on the host (tensor cores emulated)", () => {
  staticExampleParams(90).forEach(([name, params], at) => {
    const [headDim, element] = setups[at % setups.length] ?? [64, "f16"];
    it(`${name}: random parameters and shapes, ${element}, D ${headDim}, match the dense reference`, () => {
      const pattern = examplePattern(name);
      fc.assert(
        fc.property(params, fc.array(shape, { minLength: 2, maxLength: 2 }), (values, shapes) => {
          for (const s of shapes) {
            const inputs = name === "duo" ? { retrieval: [Array.from({ length: s.kvHeads }, (_, h) => (h + s.seed) & 1)] } : {};
            checkOnHost(bindOrThrow(pattern, s, values, inputs), headDim, element, s.seed);
          }
        }),
        { numRuns: 2 },
      );
    }, 300_000);
  });

  it("the causal-dense and masked-dense variants match the reference", () => {
    fc.assert(
      fc.property(shape, fc.constantFrom<KernelVariant>("causalDense", "maskedDense"), (s, variant) => {
        // causal-dense attends to every causal pair whatever the pattern: a pattern that keeps them all.
        const binding = variant === "causalDense" ? bindOrThrow(examplePattern("prefix_lm"), s, { prefix: 0 }) : bindOrThrow(examplePattern("sliding_window"), s, { window: 50 });
        checkOnHost(binding, 64, "bf16", s.seed, variant);
      }),
      { numRuns: 4 },
    );
  }, 300_000);

  it("split-K partials, merged by the host combine kernel, match the reference (decode shapes)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 700 }), fc.constantFrom(2, 3, 7), fc.integer(), (qLen, kvLen, splits, seed) => {
        checkOnHost(bindOrThrow(examplePattern("a_shape"), { qLen, kvLen: Math.max(qLen, kvLen), heads: 4, kvHeads: 2 }, { sink: 20, window: 90 }), 64, "f16", seed, "sparse", splits);
      }),
      { numRuns: 4 },
    );
  }, 300_000);

  it("GQA decode packs the query heads of one KV head in a block (with and without split-K), and matches the reference", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 500 }), fc.constantFrom<[number, number]>([8, 2], [4, 1], [6, 3]), fc.constantFrom(1, 3), fc.integer(), (qLen, kvLen, [heads, kvHeads], splits, seed) => {
        checkOnHost(bindOrThrow(examplePattern("a_shape"), { qLen, kvLen: Math.max(qLen, kvLen), heads, kvHeads }, { sink: 8, window: 60 }), 64, "bf16", seed, "sparse", splits, true);
      }),
      { numRuns: 4 },
    );
  }, 300_000);

  it("dynamic patterns: the host-built tile index and the kernel match the reference", () => {
    fc.assert(
      // Also at 176: the tile-index walk with q in shared memory, D / 16 odd. Mostly at 64, where each
      // visit's P·V is deferred to the next (the index walk must fold in every visit, the last one after it),
      // over more than one key tile.
      fc.property(fc.constantFrom("block_sparse", "document"), shape.filter((s) => s.kvLen > 64), fc.constantFrom(16, 64, 37), fc.constantFrom(64, 64, 176), (name, s, block, headDim) => {
        checkOnHost(dynamicExample(name, s, block, s.seed), headDim, "f16", s.seed);
      }),
      { numRuns: 4 },
    );
  }, 300_000);

  it("estimate, build, attend, all as CUDA code on the host: vertical-slash chosen from q and k, then the kernel on the chosen lines", () => {
    const estimator = hostVerticalSlash("f16", 64);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 20 }), fc.integer(), (kvLen, lastQ, verticalSize, slashSize, seed) => {
        const shape = { qLen: kvLen, kvLen, heads: 2, kvHeads: 1 };
        const empty = { vertical: [[], []], slash: [[], []] };
        const binding = bindOrThrow(examplePattern("vertical_slash"), shape, {}, empty);
        const [launch] = lowerAttention(binding, 0, { headDim: 64, dtype: "f16", ...cudaLowering });
        if (launch?.aux === undefined) throw new Error("no dynamic launch");
        const setting: Estimator = { kind: "verticalSlash", vertical: "vertical", slash: "slash", lastQ, verticalSize, slashSize, firstColumns: 1, nearDiagonals: 1 };
        const budgets = verticalSlashBudgets(setting, kvLen);
        const slotOf = (name: string): number => launch.kernel.inputs.findIndex((input) => input.name === name);
        // The q and k checkOnHost attends with (same seeds): the estimator sees what the kernel then uses.
        const q = randomTensor(2 * kvLen * 64, seed), k = randomTensor(kvLen * 64, seed + 1);
        const words = estimator.run(toHalfWords(q, "f16"), toHalfWords(k, "f16"), launch.aux.words, { Q: kvLen, K: kvLen, H: 2, KVH: 1 }, {
          rows: Math.min(lastQ, kvLen), scale: launch.kernel.scale, firstColumns: 1, nearDiagonals: 1, vertical: budgets.vertical, slash: budgets.slash, verticalSlot: slotOf("vertical"), slashSlot: slotOf("slash"),
        });
        // The kernel then runs on exactly what the estimator chose: the reference is the pattern bound to it.
        const estimated = bindOrThrow(examplePattern("vertical_slash"), shape, {}, unpackDeviceInputs(words, launch.kernel.inputs, binding.sizes));
        checkOnHost(estimated, 64, "f16", seed);
      }),
      { numRuns: 4 },
    );
  }, 300_000);

  it("vertical_slash: the tiles of the index, then the gathered columns and diagonals, match the reference (split-K too)", () => {
    fc.assert(
      // bf16 at 224: the gathers with q in shared memory.
      fc.property(shape, fc.constantFrom<[CudaElement, number]>(["f16", 64], ["bf16", 224]), fc.constantFrom(1, 3), (s, [element, headDim], splits) => {
        const binding = dynamicExample("vertical_slash", s, 64, s.seed);
        const [launch] = lowerAttention(binding, 0, { headDim, dtype: element, ...cudaLowering });
        expect(launch?.kernel.gathers?.columns !== undefined && launch.kernel.gathers.diagonals !== undefined, "both lines gathered").toBe(true);
        checkOnHost(binding, headDim, element, s.seed, "sparse", splits);
      }),
      { numRuns: 6 },
    );
  }, 300_000);

  it("vertical_slash, long lists over long keys: the gather paths filter them in rounds of 128 words and match the reference (split-K too)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 4200, max: 9000 }), fc.constantFrom(1, 3), fc.integer(), (qLen, kvLen, splits, seed) => {
        checkOnHost(longListsExample({ qLen, kvLen }, seed), 64, "f16", seed, "sparse", splits);
      }),
      { numRuns: 3 },
    );
  }, 300_000);
});
