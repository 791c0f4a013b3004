import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Binding } from "../ir/pattern/binding.js";
import { Bitset } from "../ir/mask/bitset.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { headContext, keepsPair } from "../ir/mask/interpret.js";
import { verifyPattern } from "../ir/pattern/verify.js";
import { lengths, staticBody } from "../fuzz/arbitraries.js";
import { bindOrThrow, exampleNames, examplePattern, patternFromSource } from "./helpers.js";

/**
 * The mask evaluator against independent transcriptions of PATTERNS.md (written here from the prose, not
 * from the .stip files), and against the tree-walking definition on random patterns.
 */
type Pair = { q: number; k: number; i: number; h: number; kvh: number; l: number; K: number };
type Transcription = (p: Record<string, number>, inputs: Record<string, unknown>) => (x: Pair) => boolean;

const mod = (a: number, b: number): number => ((a % b) + b) % b;

const transcriptions: Record<(typeof exampleNames)[number], Transcription> = {
  a_shape: ({ sink = 0, window = 0 }) => ({ q, k }) => k <= q && (k < sink || q - k < window),
  sliding_window: ({ window = 0 }) => ({ q, k }) => k <= q && q - k < window,
  tri_shape: ({ sink = 0, window = 0, last = 0 }) => ({ q, k, K }) => k <= q && (k < sink || q - k < window || q >= K - last),
  dilated: ({ window = 0, dilation = 1 }) => ({ q, k }) => k <= q && q - k < window * dilation && (q - k) % dilation === 0,
  prefix_lm: ({ prefix = 0 }) => ({ q, k }) => k <= q || k < prefix,
  grid: ({ stride = 1, phase = 0, window = 0 }) => ({ q, k }) =>
    k <= q && (mod(k - phase, stride) === 0 || mod(q - phase, stride) === 0 || q - k < window),
  ladder: ({ sink = 0, window = 0, group = 1, keep = 1 }) => ({ q, k, l }) => {
    const start = l % (group - keep + 1);
    const offset = mod(k - sink, group);
    return k <= q && (k < sink || q - k < window || (start <= offset && offset < start + keep));
  },
  vertical_slash: (_, inputs) => ({ q, k, h }) => {
    const vertical = inputs["vertical"] as number[][];
    const slash = inputs["slash"] as number[][];
    return k <= q && ((vertical[h] ?? []).includes(k) || (slash[h] ?? []).includes(q - k));
  },
  block_sparse: ({ block = 1 }, inputs) => ({ q, k, i, h }) =>
    k <= q && (inputs["blocks"] as number[][][])[h]?.[Math.floor(i / block)]?.[Math.floor(k / block)] === 1,
  document: (_, inputs) => ({ q, k }) => k <= q && (inputs["doc"] as number[])[q] === (inputs["doc"] as number[])[k],
  duo: ({ sink = 0, window = 0 }, inputs) => ({ q, k, l, kvh }) =>
    (inputs["retrieval"] as number[][])[l]?.[kvh] === 1 ? k <= q : k <= q && (k < sink || q - k < window),
};

interface Case {
  readonly name: (typeof exampleNames)[number];
  readonly qLen: number;
  readonly kvLen: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly layers: number;
  readonly head: number;
  readonly layer: number;
  readonly params: Record<string, number>;
  readonly inputs: Record<string, unknown>;
}

const small = fc.integer({ min: 0, max: 24 });
const paramsFor: Record<Case["name"], fc.Arbitrary<Record<string, number>>> = {
  a_shape: fc.record({ sink: small, window: small }),
  sliding_window: fc.record({ window: small }),
  tri_shape: fc.record({ sink: small, window: small, last: small }),
  dilated: fc.record({ window: small, dilation: fc.integer({ min: 1, max: 6 }) }),
  prefix_lm: fc.record({ prefix: small }),
  grid: fc.record({ stride: fc.integer({ min: 1, max: 9 }), phase: small, window: small }),
  ladder: fc.integer({ min: 1, max: 7 }).chain((group) =>
    fc.record({ sink: small, window: small, group: fc.constant(group), keep: fc.integer({ min: 1, max: group }) })),
  vertical_slash: fc.constant({}),
  block_sparse: fc.record({ block: fc.integer({ min: 1, max: 9 }) }),
  document: fc.constant({}),
  duo: fc.record({ sink: small, window: small }),
};

function inputsFor(name: Case["name"], qLen: number, kvLen: number, heads: number, kvHeads: number, layers: number, params: Record<string, number>): fc.Arbitrary<Record<string, unknown>> {
  const perHeadIndices = fc.array(fc.uniqueArray(fc.integer({ min: 0, max: kvLen - 1 }), { maxLength: 6 }), { minLength: heads, maxLength: heads });
  switch (name) {
    case "vertical_slash":
      return fc.record({ vertical: perHeadIndices, slash: perHeadIndices });
    case "block_sparse": {
      const block = params["block"] ?? 1;
      const rows = Math.ceil(qLen / block), cols = Math.ceil(kvLen / block);
      const matrix = fc.array(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows });
      return fc.record({ blocks: fc.array(matrix, { minLength: heads, maxLength: heads }) });
    }
    case "document":
      return fc.record({ doc: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: kvLen, maxLength: kvLen }).map((ids) => ids.sort((a, b) => a - b)) });
    case "duo": {
      const row = fc.array(fc.integer({ min: 0, max: 1 }), { minLength: kvHeads, maxLength: kvHeads });
      return fc.record({ retrieval: fc.array(row, { minLength: layers, maxLength: layers }) });
    }
    default:
      return fc.constant({});
  }
}

const caseArb: fc.Arbitrary<Case> = fc
  .tuple(fc.constantFrom(...exampleNames), lengths(48), fc.constantFrom([1, 1], [2, 1], [4, 2], [3, 3]), fc.integer({ min: 1, max: 6 }))
  .chain(([name, { qLen, kvLen }, [heads = 1, kvHeads = 1], layers]) =>
    fc.record({
      head: fc.integer({ min: 0, max: heads - 1 }),
      layer: fc.integer({ min: 0, max: layers - 1 }),
      params: paramsFor[name],
    }).chain(({ head, layer, params }) =>
      inputsFor(name, qLen, kvLen, heads, kvHeads, layers, params).map((inputs) => ({ name, qLen, kvLen, heads, kvHeads, layers, head, layer, params, inputs })),
    ),
  );

function transcribedMask(c: Case): Bitset {
  const keeps = transcriptions[c.name](c.params, c.inputs);
  const bits = new Bitset(c.qLen, c.kvLen);
  const kvh = Math.floor((c.head * c.kvHeads) / c.heads);
  for (let i = 0; i < c.qLen; i++) {
    for (let k = 0; k < c.kvLen; k++) {
      if (keeps({ q: c.kvLen - c.qLen + i, k, i, h: c.head, kvh, l: c.layer, K: c.kvLen })) bits.set(i, k);
    }
  }
  return bits;
}

function interpretedMask(binding: Binding, head: number, layer: number): Bitset {
  const context = headContext(binding, head, layer);
  const bits = new Bitset(binding.sizes.Q, binding.sizes.K);
  for (let i = 0; i < binding.sizes.Q; i++) for (let k = 0; k < binding.sizes.K; k++) if (keepsPair(binding.pattern.body, context, i, k)) bits.set(i, k);
  return bits;
}

describe("mask evaluator", () => {
  it("every example checks and satisfies the Pattern IR verifier", () => {
    for (const name of exampleNames) expect(verifyPattern(examplePattern(name)), name).toEqual([]);
  });

  it("equals a direct transcription of PATTERNS.md for every example, any parameters and lengths", () => {
    const patterns = new Map(exampleNames.map((name) => [name, examplePattern(name)]));
    fc.assert(
      fc.property(caseArb, (c) => {
        const pattern = patterns.get(c.name);
        if (pattern === undefined) throw new Error(c.name);
        const binding = bindOrThrow(pattern, { qLen: c.qLen, kvLen: c.kvLen, heads: c.heads, kvHeads: c.kvHeads, layers: c.layers }, c.params, c.inputs);
        const expected = transcribedMask(c);
        const evaluated = evaluateMask(binding, c.head, c.layer);
        expect(evaluated.toText()).toBe(expected.toText());
        expect(interpretedMask(binding, c.head, c.layer).equals(expected)).toBe(true);
      }),
      { numRuns: 600 },
    );
  });

  it("prints the documented pictures: a_shape at Q < K (decode-style bottom-right alignment)", () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 3, kvLen: 8 }, { sink: 1, window: 2 });
    // Rows sit at q = 5, 6, 7: the sink column, then the two keys ending at the query's own position.
    expect(evaluateMask(binding).toText()).toBe(["#...##..", "#....##.", "#.....##"].join("\n"));
  });

  it("handles Q = 1 and K = 1", () => {
    const one = bindOrThrow(examplePattern("sliding_window"), { qLen: 1, kvLen: 1 }, { window: 1 });
    expect(evaluateMask(one).toText()).toBe("#");
    const decode = bindOrThrow(examplePattern("sliding_window"), { qLen: 1, kvLen: 7 }, { window: 3 });
    expect(evaluateMask(decode).toText()).toBe("....###");
  });

  it("agrees with the tree-walking definition on random patterns", () => {
    fc.assert(
      fc.property(staticBody, lengths(24), (body, { qLen, kvLen }) => {
        const pattern = patternFromSource(`pattern random = ${body}`, "random");
        expect(verifyPattern(pattern)).toEqual([]);
        const binding = bindOrThrow(pattern, { qLen, kvLen });
        expect(evaluateMask(binding).equals(interpretedMask(binding, 0, 0))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("evaluates 16k × 16k exactly (kept pairs counted in closed form)", () => {
    const n = 16384, sink = 64, window = 1024;
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: n, kvLen: n }, { sink, window });
    const mask = evaluateMask(binding);
    let expected = 0;
    for (let q = 0; q < n; q++) expected += Math.min(q + 1, window) + Math.max(0, Math.min(sink, q + 1 - window));
    expect(mask.count()).toBe(expected);
  });
});
