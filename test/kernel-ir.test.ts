import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { printKernel, type AttentionKernel } from "../ir/kernel/kernel.js";
import { verifyKernel } from "../ir/kernel/verify.js";
import { lowerAttention } from "../passes/lower.js";
import { staticExampleParams } from "./example-params.js";
import { bindOrThrow, examplePattern } from "./helpers.js";

/** The kernel IR printer (`stipple ir --stage kernel`): what a backend will print, in one screen. */
describe("kernel IR printer", () => {
  it("prints grid's row groups, key lattice and band as the regions they are", () => {
    const binding = bindOrThrow(examplePattern("grid"), { qLen: 1, kvLen: 1 }, { stride: 64, phase: 0, window: 128 });
    const [launch] = lowerAttention(binding, 0, { headDim: 64, dtype: "f32", blockM: 64, blockN: 32 });
    expect(launch === undefined ? "" : printKernel(launch.kernel)).toBe(`kernel grid_sparse: f32, head dim 64, tiles 64 × 32, scale 0.125, rows in 2 groups modulo 64
  mask on partial tiles: k <= q & (k % 64 == 0 | q % 64 == 0 | q - k < 128)
  segments: closed form from the tile index
    region 0: k >= 0, k <= min(K - 1, q), lattice (k) mod 64 == 0
    region 1: (q) mod 64 == 0, k >= 0, k <= min(K - 1, q)
    region 2: k >= max(0, q - 127), k <= min(K - 1, q)
`);
  });
});

describe("kernel IR verifier", () => {
  it("passes every kernel lowering makes from the examples, any parameters, tiles and layer", () => {
    for (const [name, params] of staticExampleParams(300)) {
      fc.assert(
        fc.property(params, fc.constantFrom(16, 32, 64), fc.constantFrom(8, 16, 32, 64), fc.integer({ min: 0, max: 3 }), (values, blockM, blockN, layer) => {
          const inputs = name === "duo" ? { retrieval: [[0, 1], [1, 0], [1, 1], [0, 0]] } : {};
          const binding = bindOrThrow(examplePattern(name), { qLen: 1, kvLen: 1, heads: 2, kvHeads: 2, layers: 4 }, values, inputs);
          for (const { kernel } of lowerAttention(binding, layer, { headDim: 64, dtype: "f32", blockM, blockN })) expect(verifyKernel(kernel)).toEqual([]);
        }),
        { numRuns: 30 },
      );
    }
  });

  it("names what is wrong in a broken kernel", () => {
    const binding = bindOrThrow(examplePattern("grid"), { qLen: 1, kvLen: 1 }, { stride: 64, phase: 0, window: 128 });
    const [launch] = lowerAttention(binding, 0, { headDim: 64, dtype: "f32", blockM: 64, blockN: 32 });
    const kernel = launch?.kernel;
    if (kernel === undefined || kernel.segments.kind !== "closedForm") throw new Error("expected a closed form");
    const broken = (change: Partial<AttentionKernel>): string[] => verifyKernel({ ...kernel, ...change });
    expect(broken({ blockM: 0 })).toEqual(["blockM is 0, not a positive integer"]);
    expect(broken({ rowGroups: { modulus: 64, runs: [{ start: 0, width: 1 }, { start: 2, width: 62 }] } })).toEqual(["row groups leave residues out or overlap at 2 (modulus 64)"]);
    expect(broken({ rowGroups: { modulus: 64, runs: [{ start: 0, width: 1 }, { start: 1, width: 62 }] } })).toEqual(["row groups cover 63 residues of 64"]);
    // Runs may start anywhere and wrap: residues 5…63 then 0…4.
    expect(broken({ rowGroups: { modulus: 64, runs: [{ start: 5, width: 59 }, { start: 0, width: 5 }] } })).toEqual([]);
    const [lattice, ...rest] = kernel.segments.regions;
    if (lattice === undefined || lattice.keys.kind !== "lattice") throw new Error("expected grid's lattice first");
    const everyKey = { ...lattice, keys: { kind: "lattice" as const, lattice: { ...lattice.keys.lattice, width: 64 } } };
    expect(broken({ segments: { kind: "closedForm", regions: [everyKey, ...rest] } })).toEqual(["region 0's lattice keeps every key (a plain region would do)"]);
    expect(broken({ segments: { kind: "tileIndex" } })).toEqual(["a tile index without runtime inputs"]);
  });
});
