import type { Binding } from "../ir/pattern/binding.js";
import { bindOrThrow, examplePattern } from "./helpers.js";

/** A deterministic stream of small integers from a seed (an LCG: enough for test inputs). */
export function seededIntegers(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % below;
  };
}

export const dynamicExampleNames = ["vertical_slash", "block_sparse", "document"] as const;
export type DynamicExampleName = (typeof dynamicExampleNames)[number];

/**
 * One of the dynamic examples bound with random runtime inputs: a few vertical columns and slash offsets per
 * head (now and then up to 90 and 60) (offset 0 always, as MInference keeps the diagonal), block sets a third full, or 1–5 documents with
 * random boundaries.
 */
export function dynamicExample(name: DynamicExampleName, shape: { qLen: number; kvLen: number; heads: number; kvHeads: number }, block: number, seed: number): Binding {
  const random = seededIntegers(seed);
  const { qLen, kvLen, heads } = shape;
  const perHead = (count: number): number[][] => Array.from({ length: heads }, () => Array.from({ length: count }, () => random(kvLen)));
  switch (name) {
    case "vertical_slash":
      // Sometimes many columns and diagonals: more than one gathered visit per query tile, several batches per row.
      const many = (few: number, lots: number): number => (random(4) === 0 ? random(lots) : random(few));
      return bindOrThrow(examplePattern(name), shape, {}, { vertical: perHead(1 + many(8, 90)), slash: perHead(many(5, 60)).map((s) => [0, ...s]) });
    case "block_sparse": {
      const blocks = Array.from({ length: heads }, () =>
        Array.from({ length: Math.ceil(qLen / block) }, () => Array.from({ length: Math.ceil(kvLen / block) }, () => (random(3) === 0 ? 1 : 0))));
      return bindOrThrow(examplePattern(name), shape, { block }, { blocks });
    }
    case "document": {
      const cuts = Array.from({ length: random(5) }, () => random(kvLen)).sort((a, b) => a - b);
      return bindOrThrow(examplePattern(name), shape, {}, { doc: Array.from({ length: kvLen }, (_, k) => cuts.filter((c) => c <= k).length) });
    }
  }
}

/**
 * Vertical-slash over long keys with long lists: a local band of diagonals, far diagonals and many columns
 * spread over every key, so that the gather paths' filters (BM words a workgroup on WGSL, 128 a block on
 * CUDA, at 32 keys a word) take several rounds and a visit's gathered columns come from two of them.
 */
export function longListsExample(shape: { qLen: number; kvLen: number }, seed: number): Binding {
  const random = seededIntegers(seed);
  const { qLen, kvLen } = shape;
  const band = Array.from({ length: 1 + random(80) }, (_, o) => o);
  const far = Array.from({ length: 5 + random(60) }, () => random(kvLen));
  const columns = Array.from({ length: 30 + random(200) }, () => random(kvLen));
  return bindOrThrow(examplePattern("vertical_slash"), { qLen, kvLen, heads: 1, kvHeads: 1 }, {}, { vertical: [columns], slash: [[...band, ...far]] });
}
