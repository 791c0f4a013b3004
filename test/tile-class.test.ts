import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { headContext } from "../ir/mask/interpret.js";
import { classifyTile, type TileClass } from "../ir/mask/tile-class.js";
import type { Binding } from "../ir/pattern/binding.js";
import { tileIndexMask } from "../ir/kernel/kernel.js";
import { buildTileIndex, denseLinesOf, tileIndexRow, tileIndexShape } from "../ir/plan/tile-index.js";
import { lowerAttention } from "../passes/lower.js";
import { simplify } from "../passes/simplify.js";
import { specialize } from "../passes/specialize.js";
import { lengths, staticBody } from "../fuzz/arbitraries.js";
import { dynamicExample, dynamicExampleNames } from "./dynamic-cases.js";
import { bindOrThrow, patternFromSource } from "./helpers.js";

const schedules = fc.record({ blockM: fc.constantFrom(1, 4, 16, 64), blockN: fc.constantFrom(1, 8, 16, 64) });

/** Every tile's class against the exact mask: `none` keeps no pair, `all` every pair; counts how many `some` were exact. */
function checkSound(binding: Binding, head: number, schedule: { blockM: number; blockN: number }): { some: number; mixed: number } {
  const { Q, K } = binding.sizes;
  const mask = evaluateMask(binding, head, 0);
  // The kernels classify the specialized mask (h and kvh left as variables); so do we.
  const body = simplify(specialize(binding, { head, layer: 0 }, { keepSizes: true, keepHeads: true }));
  const context = headContext(binding, head, 0);
  let some = 0, mixed = 0;
  for (let rowStart = 0; rowStart < Q; rowStart += schedule.blockM) {
    const rowEnd = Math.min(Q, rowStart + schedule.blockM);
    for (let kStart = 0; kStart < K; kStart += schedule.blockN) {
      const kEnd = Math.min(K, kStart + schedule.blockN);
      let kept = 0;
      for (let row = rowStart; row < rowEnd; row++) kept += mask.countRange(row, kStart, kEnd);
      const kind: TileClass = classifyTile(body, context, { rowStart, rowEnd, kStart, kEnd });
      const where = `${binding.pattern.name} head ${head}, rows [${rowStart}, ${rowEnd}) keys [${kStart}, ${kEnd})`;
      if (kind === "none") expect(kept, `${where} classified none`).toBe(0);
      if (kind === "all") expect(kept, `${where} classified all`).toBe((rowEnd - rowStart) * (kEnd - kStart));
      if (kind === "some") {
        some++;
        if (kept > 0 && kept < (rowEnd - rowStart) * (kEnd - kStart)) mixed++;
      }
    }
  }
  return { some, mixed };
}

describe("the tile classifier (reference for the device index builders)", () => {
  it("is sound on random static patterns: none keeps nothing, all keeps everything", () => {
    fc.assert(
      fc.property(staticBody, lengths(48), schedules, (body, shape, schedule) => {
        checkSound(bindOrThrow(patternFromSource(`pattern random = ${body}`, "random"), shape), 0, schedule);
      }),
      { numRuns: 300 },
    );
  });

  it("is sound on the dynamic examples with random inputs, heads and GQA", () => {
    fc.assert(
      fc.property(fc.constantFrom(...dynamicExampleNames), lengths(160), schedules, fc.integer({ min: 1, max: 40 }), fc.integer(), (name, { qLen, kvLen }, schedule, block, seed) => {
        const binding = dynamicExample(name, { qLen, kvLen, heads: 2, kvHeads: 1 }, block, seed);
        checkSound(binding, 0, schedule);
        checkSound(binding, 1, schedule);
      }),
      { numRuns: 200 },
    );
  });

  it("the index touches a key tile only where the whole mask may keep a pair, dense gathered lines included", () => {
    // Many random columns: some key tiles hold enough to be dense, some of those lie past a causal query tile.
    fc.assert(
      fc.property(lengths(300), fc.constantFrom(16, 64), fc.constantFrom(8, 32), fc.integer(), ({ qLen, kvLen }, blockM, blockN, seed) => {
        const binding = dynamicExample("vertical_slash", { qLen, kvLen, heads: 1, kvHeads: 1 }, 1, seed);
        const [launch] = lowerAttention(binding, 0, { headDim: 32, dtype: "f32", blockM, blockN });
        if (launch === undefined) throw new Error("no launch");
        const { kernel } = launch;
        const context = headContext(binding, 0, 0);
        const index = buildTileIndex(tileIndexMask(kernel), context, kernel, denseLinesOf(kernel), kernel.mask);
        const shape = tileIndexShape(binding.sizes, kernel);
        for (let t = 0; t < shape.queryTiles; t++) {
          [...tileIndexRow(index, shape, t)].forEach((mark, keyTile) => {
            if (mark === ".") return;
            const rowStart = t * blockM, kStart = keyTile * blockN;
            const tile = { rowStart, rowEnd: Math.min(qLen, rowStart + blockM), kStart, kEnd: Math.min(kvLen, kStart + blockN) };
            expect(classifyTile(kernel.mask, context, tile), `query tile ${t}, key tile ${keyTile}`).not.toBe("none");
          });
        }
      }),
      { numRuns: 100 },
    );
  });

  it("is exact where the inputs line up with the tiles: block sets of the tile size, documents on tile bounds", () => {
    const blocks = [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 1]];
    const blockSparse = bindOrThrow(patternFromSource("pattern b(input blocks: blocks[H](16, 16)) = causal & (i / 16, k / 16) in blocks[h]", "b"), { qLen: 64, kvLen: 64 }, {}, { blocks: [blocks] });
    const shape = tileIndexShape(blockSparse.sizes, { blockM: 16, blockN: 16 });
    const index = buildTileIndex(simplify(specialize(blockSparse, { head: 0, layer: 0 }, { keepSizes: true, keepHeads: true })), headContext(blockSparse, 0, 0), { blockM: 16, blockN: 16 });
    expect([0, 1, 2, 3].map((t) => tileIndexRow(index, shape, t))).toEqual(["P...", "FP..", ".F..", "F.FP"]);
    const doc = Array.from({ length: 64 }, (_, k) => Math.floor(k / 32));
    const documents = bindOrThrow(patternFromSource("pattern d(input doc: ids[K]) = causal & doc[q] == doc[k]", "d"), { qLen: 64, kvLen: 64 }, {}, { doc });
    expect(checkSound(documents, 0, { blockM: 16, blockN: 16 }).some).toBe(4); // the four diagonal tiles
  });
});
