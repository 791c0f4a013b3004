import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cudaLowering } from "../backends/cuda/schedule.js";
import { tileIndexMask } from "../ir/kernel/kernel.js";
import { headContext } from "../ir/mask/interpret.js";
import { buildTileIndex, denseLinesOf, tileIndexWords } from "../ir/plan/tile-index.js";
import { lowerAttention } from "../passes/lower.js";
import { lengths } from "../fuzz/arbitraries.js";
import { hostBuilder } from "./cuda-host.js";
import { dynamicExample, dynamicExampleNames } from "./dynamic-cases.js";

/**
 * The generated CUDA tile-index builders, compiled for the host with g++ (test/cuda-host.ts) and run over
 * their grid, write the host reference's tile index bit for bit, on random lengths, heads and inputs. The
 * kernel text depends on the pattern's compiled-in parameters only, so each (example, block) compiles once.
 * Their device compile (nvcc, ptxas) is in cuda.test.ts; running on a GPU is `npm run test:gpu`.
 */
describe("CUDA tile-index builders, run on the host", () => {
  // The CUDA lowering (no gathers), and for vertical_slash also the gathering one: the builder then prints
  // the density rule and the whole-mask test for full tiles, which a future gather path will need.
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
      expect(first.kernel.gathers === undefined, "CUDA kernels visit listed lines with their tiles").toBe(!gathers);
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
