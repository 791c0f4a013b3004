import { describe, expect, it } from "vitest";
import { printKernel } from "../ir/kernel/kernel.js";
import { lowerAttention } from "../passes/lower.js";
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
