import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cudaLowering } from "../backends/cuda/schedule.js";
import { tileIndexMask } from "../ir/kernel/kernel.js";
import { headContext } from "../ir/mask/interpret.js";
import { buildTileIndex, denseLinesOf, tileIndexWords } from "../ir/plan/tile-index.js";
import { lowerAttention } from "../passes/lower.js";
import { estimateBlockTopK } from "../ir/estimate/block-top-k.js";
import { unpackDeviceInputs } from "../ir/kernel/unpack-inputs.js";
import { roundedTo, toHalfWords } from "../util/half.js";
import { bindOrThrow, examplePattern, randomTensor } from "./helpers.js";
import { expectSameSelection, expectSelected, expectThresholdCut, fromOrderKey, selectionCases } from "./selection.js";
import { lengths } from "../fuzz/arbitraries.js";
import { hostBlockTopK, hostBuilder, hostCombine, hostSelectTop, hostVerticalSlash, hostXAttention } from "./cuda-host.js";
import { estimateXAttention } from "../ir/estimate/xattention.js";
import { cudaRankSelectionLimit } from "../backends/cuda/select-top.js";
import type { Estimator } from "../ir/estimate/estimator.js";
import { estimateVerticalSlash, verticalSlashBudgets } from "../ir/estimate/vertical-slash.js";
import { dynamicExample, dynamicExampleNames, seededIntegers } from "./dynamic-cases.js";

/**
 * The generated CUDA tile-index builders, compiled for the host with g++ (test/cuda-host.ts) and run over
 * their grid, write the host reference's tile index bit for bit, on random lengths, heads and inputs. The
 * kernel text depends on the pattern's compiled-in parameters only, so each (example, block) compiles once.
 * Their device compile (nvcc, ptxas) is in cuda.test.ts; running on a GPU is `npm run test:gpu`.
 */
describe("CUDA tile-index builders, run on the host", () => {
  // Lowered without gathers (lines visited with their tiles), and for vertical_slash also with them, as the
  // CUDA lowering does: the builder then prints the density rule and the whole-mask test for full tiles.
  const cases = dynamicExampleNames.flatMap((name) => [
    ...(name === "block_sparse" ? [64, 37] : [64]).map((block) => ({ name, block, gathers: false })),
    ...(name === "vertical_slash" ? [{ name, block: 64, gathers: true }] : []),
  ]);
  for (const { name, block, gathers } of cases) {
  it(`${name}${name === "block_sparse" ? ` (block ${block})` : ""}${gathers ? ", lowered with gathers" : ""}: the reference's index for every launch head`, () => {
      const lowering = { headDim: 64, dtype: "f16" as const, ...cudaLowering, gathers };
      const nominal = dynamicExample(name, { qLen: 1, kvLen: 1, heads: 1, kvHeads: 1 }, block, 1);
      const [first] = lowerAttention(nominal, 0, lowering);
      if (first === undefined) throw new Error("no launch");
      expect(first.kernel.segments.kind).toBe("tileIndex");
      expect(first.kernel.gathers === undefined, "listed lines gathered as lowered").toBe(!gathers);
      const builder = hostBuilder(first);
      fc.assert(
        fc.property(lengths(4500), fc.constantFrom<[number, number]>([1, 1], [3, 1], [4, 2]), fc.integer(), ({ qLen, kvLen }, [heads, kvHeads], seed) => {
          const binding = dynamicExample(name, { qLen, kvLen, heads, kvHeads }, block, seed);
          const [launch] = lowerAttention(binding, 0, lowering);
          if (launch === undefined) throw new Error("no launch");
          const index = builder.run(launch, binding.sizes);
          const perHead = tileIndexWords(binding.sizes, launch.kernel);
          expect(index.length).toBe(launch.heads.length * perHead);
          launch.heads.forEach((head, at) => {
            const host = buildTileIndex(tileIndexMask(launch.kernel), headContext(binding, head, 0), launch.kernel, denseLinesOf(launch.kernel), launch.kernel.mask);
            expect(Array.from(index.subarray(at * perHead, (at + 1) * perHead)), `${name} Q=${qLen} K=${kvLen} head ${head}`).toEqual(Array.from(host));
          });
        }),
        { numRuns: 25 },
      );
    }, 120_000);
  }
});

/** The merge the combine kernel computes, in Float64: lse = log Σ exp(lse_s), out = Σ exp(lse_s − lse) · out_s. */
function mergeSplits(partOut: Float32Array, partLse: Float32Array, splits: number, rows: number, headDim: number): { out: Float64Array; lse: Float64Array } {
  const out = new Float64Array(rows * headDim), lse = new Float64Array(rows).fill(-Infinity);
  for (let row = 0; row < rows; row++) {
    const lses = Array.from({ length: splits }, (_, s) => partLse[s * rows + row] ?? -Infinity);
    const best = Math.max(...lses);
    if (best === -Infinity) continue;
    const weights = lses.map((l) => Math.exp(l - best));
    const total = weights.reduce((a, b) => a + b, 0);
    lse[row] = best + Math.log(total);
    for (let d = 0; d < headDim; d++) out[row * headDim + d] = weights.reduce((sum, w, s) => sum + w * (partOut[(s * rows + row) * headDim + d] ?? 0), 0) / total;
  }
  return { out, lse };
}

describe("the CUDA split-K combine, run on the host", () => {
  it("merges the splits' partials by their lse; splits that kept nothing weigh 0, rows none kept give 0 and −∞", () => {
    const headDim = 32;
    const combine = hostCombine(headDim);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 300 }), fc.integer(), (splits, heads, q, seed) => {
        const random = seededIntegers(seed);
        const rows = heads * q;
        // Some splits keep nothing for a row (−∞), some rows are kept by none.
        const partLse = Float32Array.from({ length: splits * rows }, () => (random(4) === 0 ? -Infinity : (random(2000) - 1000) / 50));
        const partOut = Float32Array.from({ length: splits * rows * headDim }, () => (random(2001) - 1000) / 1000);
        const served = Array.from({ length: heads }, (_, h) => h).filter((h) => h !== 1 || random(2) === 0);
        const { out, lse } = combine.run(partOut, partLse, { splits, heads, q }, served);
        const expected = mergeSplits(partOut, partLse, splits, rows, headDim);
        for (let h = 0; h < heads; h++) {
          for (let row = h * q; row < (h + 1) * q; row++) {
            if (!served.includes(h)) {
              expect(lse[row], "heads the launch does not serve are left alone").toBe(7);
              continue;
            }
            const want = expected.lse[row] ?? Number.NaN;
            if (want === -Infinity) expect(lse[row]).toBe(-Infinity);
            else expect(Math.abs((lse[row] ?? Number.NaN) - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
            for (let d = 0; d < headDim; d++) expect(Math.abs((out[row * headDim + d] ?? Number.NaN) - (expected.out[row * headDim + d] ?? 0))).toBeLessThanOrEqual(1e-5);
          }
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});

/** block_sparse bound with every block set (an estimator clears and rewrites them), lowered for CUDA: its launch, packed inputs and `blocks` slot. */
function blockSparseLaunch(shape: { qLen: number; kvLen: number; heads: number; kvHeads: number }, block: number, headDim: number, element: "f16" | "bf16") {
  const rows = Math.ceil(shape.qLen / block), cols = Math.ceil(shape.kvLen / block);
  const full = { blocks: Array.from({ length: shape.heads }, () => Array.from({ length: rows }, () => new Array<number>(cols).fill(1))) };
  const binding = bindOrThrow(examplePattern("block_sparse"), shape, { block }, full);
  const [launch] = lowerAttention(binding, 0, { headDim, dtype: element, ...cudaLowering });
  if (launch?.aux === undefined) throw new Error("no dynamic launch");
  return { binding, launch, aux: launch.aux.words, slot: launch.kernel.inputs.findIndex((input) => input.name === "blocks") };
}

describe("the CUDA block top-k estimator, run on the host", () => {
  for (const element of ["f16", "bf16"] as const) {
    it(`${element}: selects the reference's key blocks per query block (ties to the lower index), into the packed inputs`, () => {
      const estimator = hostBlockTopK(element);
      fc.assert(
        fc.property(
          fc.constantFrom<[number, number]>([1, 1], [2, 1], [4, 2]), fc.integer({ min: 1, max: 600 }), fc.constantFrom(1, 1, 0.5, 0.1), fc.constantFrom(32, 64, 80),
          fc.integer({ min: 3, max: 64 }), fc.integer({ min: 0, max: 12 }), fc.boolean(), fc.integer(),
          ([heads, kvHeads], kvLen, queryFraction, headDim, block, topK, flat, seed) => {
            const qLen = Math.max(1, Math.round(kvLen * queryFraction));
            // A flat q makes every pooled score equal: the tie rule decides alone.
            const q = roundedTo(randomTensor(heads * qLen * headDim, seed, flat ? 0 : 2), element), k = roundedTo(randomTensor(kvHeads * kvLen * headDim, seed + 1, 2), element);
            const { binding, launch, aux, slot } = blockSparseLaunch({ qLen, kvLen, heads, kvHeads }, block, headDim, element);
            const words = estimator.run(toHalfWords(q, element), toHalfWords(k, element), aux, { Q: qLen, K: kvLen, H: heads, KVH: kvHeads, D: headDim }, { block, topK, slot });
            const chosen = unpackDeviceInputs(words, launch.kernel.inputs, binding.sizes)["blocks"] as number[][][];
            const reference = estimateBlockTopK({ shape: [heads, qLen, headDim], data: q }, { shape: [kvHeads, kvLen, headDim], data: k }, { kind: "blockTopK", blocks: "blocks", block, topK });
            const indices = (row: readonly number[]): number[] => row.flatMap((x, c) => (x === 1 ? [c] : []));
            for (let h = 0; h < heads; h++) {
              (reference.blocks[h] ?? []).forEach((row, b) => {
                expectSameSelection(indices(chosen[h]?.[b] ?? []), indices(row), reference.scores[h]?.[b] ?? [], `${element} head ${h} query block ${b}`);
              });
            }
            // The other inputs' words are untouched (the directory, other slots).
            expect(Array.from(words.subarray(0, 4 * launch.kernel.inputs.length))).toEqual(Array.from(aux.subarray(0, 4 * launch.kernel.inputs.length)));
          },
        ),
        { numRuns: 40 },
      );
    }, 120_000);
  }
});

describe("the CUDA vertical-slash estimator, run on the host (threads and barriers real)", () => {
  for (const element of ["f16", "bf16"] as const) {
    it(`${element}: selects the reference's columns and offsets (ties to the lower index), by rank and by counting rounds, into the packed inputs`, () => {
      // A head dim where D / 16 is odd for one of the elements (the estimator reads whole rows of K).
      const headDim = element === "f16" ? 32 : 80;
      const estimator = hostVerticalSlash(element, headDim);
      // Rows up to cudaRankSelectionLimit keys are selected by rank, longer ones by the counting rounds: both drawn.
      const kvLengths = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 400 }), weight: 3 }, { arbitrary: fc.integer({ min: cudaRankSelectionLimit + 1, max: cudaRankSelectionLimit + 300 }), weight: 1 });
      fc.assert(
        fc.property(
          fc.constantFrom<[number, number]>([1, 1], [2, 1], [4, 2]), kvLengths, fc.constantFrom(1, 0.5, 0.05), fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 65, max: 100 })),
          fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), fc.boolean(), fc.integer(),
          fc.integer({ min: 1, max: 4 }),
          ([heads, kvHeads], kvLen, queryFraction, lastQ, verticalSize, slashSize, firstColumns, nearDiagonals, flat, seed, chunk) => {
            const qLen = Math.max(1, Math.round(kvLen * queryFraction));
            // A flat q makes every row's softmax uniform: many equal column and offset scores, the tie rule decides.
            const q = roundedTo(randomTensor(heads * qLen * headDim, seed, flat ? 0 : 2), element), k = roundedTo(randomTensor(kvHeads * kvLen * headDim, seed + 1, 2), element);
            const empty = { vertical: Array.from({ length: heads }, () => []), slash: Array.from({ length: heads }, () => []) };
            const binding = bindOrThrow(examplePattern("vertical_slash"), { qLen, kvLen, heads, kvHeads }, {}, empty);
            const [launch] = lowerAttention(binding, 0, { headDim, dtype: element, ...cudaLowering });
            if (launch?.aux === undefined) throw new Error("no dynamic launch");
            const slotOf = (name: string): number => launch.kernel.inputs.findIndex((input) => input.name === name);
            const setting: Estimator = { kind: "verticalSlash", vertical: "vertical", slash: "slash", lastQ, verticalSize, slashSize, firstColumns, nearDiagonals };
            const budgets = verticalSlashBudgets(setting, kvLen);
            const words = estimator.run(toHalfWords(q, element), toHalfWords(k, element), launch.aux.words, { Q: qLen, K: kvLen, H: heads, KVH: kvHeads }, {
              rows: Math.min(lastQ, qLen), scale: launch.kernel.scale, firstColumns, nearDiagonals, vertical: budgets.vertical, slash: budgets.slash, verticalSlot: slotOf("vertical"), slashSlot: slotOf("slash"),
              // Heads in chunks through the scratch, as the runtime does past verticalSlashScratchBytes.
              chunk: Math.min(chunk, heads),
            });
            const chosen = unpackDeviceInputs(words, launch.kernel.inputs, binding.sizes);
            const reference = estimateVerticalSlash({ shape: [heads, qLen, headDim], data: q }, { shape: [kvHeads, kvLen, headDim], data: k }, setting, launch.kernel.scale);
            for (let h = 0; h < heads; h++) {
              expectSameSelection((chosen["vertical"] as number[][])[h] ?? [], reference.vertical[h] ?? [], reference.columnScores[h] ?? [], `${element} head ${h} columns`);
              expectSameSelection((chosen["slash"] as number[][])[h] ?? [], reference.slash[h] ?? [], reference.diagonalScores[h] ?? [], `${element} head ${h} offsets`);
            }
            expect(Array.from(words.subarray(0, 4 * launch.kernel.inputs.length))).toEqual(Array.from(launch.aux.words.subarray(0, 4 * launch.kernel.inputs.length)));
          },
        ),
        { numRuns: 9 },
      );
    }, 240_000);
  }
});

describe("the CUDA top-n selection, run on the host (threads and barriers real)", () => {
  it("keeps the n largest keys above −∞ (ties to the lower index, at most each problem's limit), by rank and by byte rounds", () => {
    const select = hostSelectTop();
    fc.assert(fc.property(selectionCases(cudaRankSelectionLimit), (c) => expectSelected(select.run(c.keys, c, c.n, c.limits), c)), { numRuns: 40 });
  }, 240_000);
});

describe("the CUDA XAttention estimator, run on the host (threads and barriers real)", () => {
  // On tensor cores (blocks of up to 64 cells): reductions staged 64 (S·D = 128, 640), 16 (S 3) and 32 (S 1)
  // at a time; lengths past 64 cell rows and cells, so blocks serve several row tiles and walk several
  // column tiles. On CUDA cores (blocks of more cells), stride 1 draws rows of more cells than a chunk of
  // probabilities (xattentionChunkCells) and blocks of more cell rows than are staged at once, so key blocks
  // straddle chunks and cell rows come in several groups; its mass kernel serves 1, 2 or all query blocks a
  // launch, as the runtime chunks them by its scratch.
  const configs = [
    { cores: "tensorCores", element: "f16", stride: 4, headDim: 32, maxLength: 260, cells: [1, 6] },
    { cores: "tensorCores", element: "bf16", stride: 8, headDim: 80, maxLength: 260, cells: [1, 6] },
    { cores: "tensorCores", element: "f16", stride: 3, headDim: 48, maxLength: 200, cells: [1, 6] },
    { cores: "tensorCores", element: "bf16", stride: 1, headDim: 32, maxLength: 300, cells: [8, 64] },
    { cores: "cudaCores", element: "f16", stride: 1, headDim: 32, maxLength: 420, cells: [65, 80] },
    { cores: "cudaCores", element: "bf16", stride: 2, headDim: 80, maxLength: 400, cells: [65, 70] },
  ] as const;
  for (const { cores, element, stride, headDim, maxLength, cells: [minCells, maxCells] } of configs) {
    it(`on ${cores === "tensorCores" ? "tensor" : "CUDA"} cores, ${element}, stride ${stride}, D ${headDim}: the reference's block masses, and the forced blocks plus the fewest heaviest whose mass reaches the threshold, into the packed inputs`, () => {
      const estimator = hostXAttention(element, headDim, stride, cores);
      fc.assert(
        fc.property(
          // Every block sum and warp collective is a barrier of 128 host threads: lengths stay short.
          fc.constantFrom<[number, number]>([1, 1], [2, 1], [3, 1]), fc.integer({ min: 1, max: maxLength }), fc.constantFrom(1, 0.5, 0.1), fc.integer({ min: minCells, max: maxCells }),
          fc.constantFrom(0.3, 0.6, 0.9, 0.95, 1), fc.boolean(), fc.integer(), fc.constantFrom(1, 2, Infinity),
          ([heads, kvHeads], kvLen, queryFraction, cells, threshold, flat, seed, chunk) => {
            const qLen = Math.max(1, Math.round(kvLen * queryFraction));
            const block = stride * cells;
            const q = roundedTo(randomTensor(heads * qLen * headDim, seed, flat ? 0 : 2), element), k = roundedTo(randomTensor(kvHeads * kvLen * headDim, seed + 1, 2), element);
            const { binding, launch, aux, slot } = blockSparseLaunch({ qLen, kvLen, heads, kvHeads }, block, headDim, element);
            const { words, keys } = estimator.run(toHalfWords(q, element), toHalfWords(k, element), aux, { Q: qLen, K: kvLen, H: heads, KVH: kvHeads }, { block, threshold, scale: launch.kernel.scale, slot, chunk });
            const chosen = unpackDeviceInputs(words, launch.kernel.inputs, binding.sizes)["blocks"] as number[][][];
            const reference = estimateXAttention({ shape: [heads, qLen, headDim], data: q }, { shape: [kvHeads, kvLen, headDim], data: k }, { kind: "xattention", blocks: "blocks", block, stride, threshold });
            const colBlocks = Math.ceil(kvLen / block);
            for (let h = 0; h < heads; h++) {
              (reference.blocks[h] ?? []).forEach((expected, b) => {
                const masses = reference.masses[h]?.[b] ?? new Float64Array(0), scores = reference.scores[h]?.[b] ?? [];
                // A candidate's key is its mass; forced blocks are +∞ and non-causal ones −∞, as the reference scores them.
                masses.forEach((mass, c) => {
                  const key = keys[(h * Math.ceil(qLen / block) + b) * colBlocks + c] ?? 0;
                  const what = `${element} head ${h} query block ${b} key block ${c}`;
                  if (scores[c] === Infinity) expect(key, `${what}: forced`).toBe(0xff800000);
                  else if (scores[c] === -Infinity) expect(key, `${what}: non-causal`).toBe(0x007fffff);
                  else expect(Math.abs(fromOrderKey(key) - mass), `${what}: mass ${fromOrderKey(key)}, reference ${mass}`).toBeLessThanOrEqual(1e-5 * Math.max(1, mass));
                });
                const mine = chosen[h]?.[b] ?? [];
                if (mine.join() === expected.join()) return;
                expectThresholdCut(mine, masses, scores, threshold, `${element} head ${h} query block ${b}: device ${mine.join("")}, reference ${expected.join("")}`);
              });
            }
            expect(Array.from(words.subarray(0, 4 * launch.kernel.inputs.length))).toEqual(Array.from(aux.subarray(0, 4 * launch.kernel.inputs.length)));
          },
        ),
        { numRuns: 7 },
      );
    }, 240_000);
  }
});
