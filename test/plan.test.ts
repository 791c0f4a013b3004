import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Bitset } from "../ir/mask/bitset.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { headContext, keepsPair } from "../ir/mask/interpret.js";
import type { Binding } from "../ir/pattern/binding.js";
import { planText, type BlockPlan } from "../ir/plan/plan.js";
import { planStats } from "../ir/plan/stats.js";
import { planProblem } from "../ir/plan/verify.js";
import { boundValue, type RegionForm } from "../ir/regions/region.js";
import { closedFormPlan, indexPlan, planPattern } from "../passes/plan.js";
import { regionsOf } from "../passes/regions.js";
import { simplify } from "../passes/simplify.js";
import { specialize } from "../passes/specialize.js";
import { lengths, staticBody } from "../fuzz/arbitraries.js";
import { bindOrThrow, examplePattern, patternFromSource } from "./helpers.js";

/** The plan's invariants, checked pair by pair against the mask evaluator (ir/plan/verify.ts). */
function checkPlanCoversMask(plan: BlockPlan, mask: Bitset): void {
  const problem = planProblem(plan, mask);
  if (problem !== undefined) throw new Error(problem);
}

/** Evaluates the region form directly: the union of bounded regions, restrictions and runtime tests. */
function regionMaskEquals(form: RegionForm, binding: Binding, mask: Bitset): boolean {
  const context = headContext(binding, 0, 0);
  const { Q, K } = binding.sizes;
  for (let i = 0; i < Q; i++) {
    const q = K - Q + i;
    for (let k = 0; k < K; k++) {
      const kept = form.regions.some((r) =>
        q >= r.rowMin && q <= r.rowMax &&
        r.lower.every((b) => k >= boundValue(b, q)) && r.upper.every((b) => k <= boundValue(b, q)) &&
        [...r.restrictions, ...r.runtime].every((test) => keepsPair(test, context, i, k)));
      if (kept !== mask.get(i, k)) return false;
    }
  }
  return true;
}

const schedules = fc.record({ blockM: fc.integer({ min: 1, max: 24 }), blockN: fc.integer({ min: 1, max: 24 }) });

describe("planning passes on random patterns", () => {
  it("simplify, regions and the plan keep exactly the mask's pairs", () => {
    fc.assert(
      fc.property(staticBody, lengths(40), schedules, (body, { qLen, kvLen }, schedule) => {
        const binding = bindOrThrow(patternFromSource(`pattern random = ${body}`, "random"), { qLen, kvLen });
        const mask = evaluateMask(binding);
        const simplified = simplify(specialize(binding, { head: 0, layer: 0 }));
        const simplifiedBinding = { ...binding, pattern: { ...binding.pattern, body: simplified } };
        expect(evaluateMask(simplifiedBinding).equals(mask)).toBe(true);
        const form = regionsOf(simplified, binding.sizes);
        expect(regionMaskEquals(form, binding, mask)).toBe(true);
        const { plan, regions } = planPattern(binding, { head: 0, layer: 0 }, schedule);
        checkPlanCoversMask(plan, mask);
        expect(planStats(plan, regions, binding, 0, 0, 64).keptPairs).toBe(mask.count());
      }),
      { numRuns: 300 },
    );
  });
});

interface ExampleCase {
  readonly name: string;
  readonly params: fc.Arbitrary<Record<string, number>>;
  /**
   * Modular lines (dilated, grid, ladder) are masked inside their bounds, so the closed form may visit tiles
   * the lines miss or mark partial a tile the lines fill; for them it must contain the enumerated plan.
   */
  readonly modular?: true;
}

const small = fc.integer({ min: 0, max: 70 });
const staticExamples: readonly ExampleCase[] = [
  { name: "a_shape", params: fc.record({ sink: small, window: small }) },
  { name: "sliding_window", params: fc.record({ window: small }) },
  { name: "tri_shape", params: fc.record({ sink: small, window: small, last: small }) },
  { name: "dilated", params: fc.record({ window: fc.integer({ min: 0, max: 20 }), dilation: fc.integer({ min: 1, max: 5 }) }) },
  { name: "prefix_lm", params: fc.record({ prefix: small }) },
  { name: "grid", params: fc.record({ stride: fc.integer({ min: 1, max: 40 }), phase: small, window: small }) },
  { name: "ladder", params: fc.integer({ min: 1, max: 8 }).chain((group) => fc.record({ sink: small, window: small, group: fc.constant(group), keep: fc.integer({ min: 1, max: group }) })) },
  { name: "duo", params: fc.record({ sink: small, window: small }) },
];

/** Tile by tile: the closed form visits every tile the enumeration visits, and marks full only full tiles. */
function expectContains(closed: string, enumerated: string): void {
  expect(closed.length).toBe(enumerated.length);
  for (let at = 0; at < closed.length; at++) {
    const c = closed[at], e = enumerated[at];
    if (e === "P" || e === "F") expect(c === "P" || c === "F", `tile ${at}`).toBe(true);
    if (c === "F") expect(e, `tile ${at}`).toBe("F");
  }
}

describe("closed-form plans of the static examples", () => {
  for (const example of staticExamples) {
    const relation = example.modular === true ? "contains" : "equals";
    it(`${example.name}: the closed form ${relation} the enumerated plan and covers the mask`, () => {
      const pattern = examplePattern(example.name);
      fc.assert(
        fc.property(example.params, lengths(150), fc.constantFrom(8, 16, 32, 64), fc.constantFrom(8, 16, 32, 64), fc.integer({ min: 0, max: 3 }), fc.boolean(),
          (params, { qLen, kvLen }, blockM, blockN, layer, retrieval) => {
            const inputs = example.name === "duo" ? { retrieval: Array.from({ length: 4 }, () => [retrieval ? 1 : 0]) } : {};
            const binding = bindOrThrow(pattern, { qLen, kvLen, layers: 4 }, params, inputs);
            const { plan, regions } = planPattern(binding, { head: 0, layer }, { blockM, blockN });
            expect(plan.static).toBe(true);
            const mask = evaluateMask(binding, 0, layer);
            checkPlanCoversMask(plan, mask);
            const enumerated = indexPlan(mask, binding.sizes, plan.schedule);
            if (example.modular === true) expectContains(planText(plan), planText(enumerated));
            else {
              expect(planText(plan)).toBe(planText(enumerated));
              expect(plan.tiles).toEqual(enumerated.tiles);
            }
            expect(planStats(plan, regions, binding, 0, layer, 64).keptPairs).toBe(mask.count());
          }),
        { numRuns: 60 },
      );
    });
  }

  it("metadata does not grow with length", () => {
    for (const example of staticExamples) {
      const pattern = examplePattern(example.name);
      const inputs = example.name === "duo" ? { retrieval: [[0]] } : {};
      const sizes = [1024, 65536, 1048576].map((n) => planPattern(bindOrThrow(pattern, { qLen: n, kvLen: n }, {}, inputs), { head: 0, layer: 0 }, { blockM: 64, blockN: 64 }).plan.metadataBytes);
      expect(new Set(sizes).size, example.name).toBe(1);
    }
  });

  it("plans sliding_window and a_shape as tightly as the geometry allows at 64 × 64", () => {
    const binding = bindOrThrow(examplePattern("sliding_window"), { qLen: 4096, kvLen: 4096 }, { window: 256 });
    const { plan } = planPattern(binding, { head: 0, layer: 0 }, { blockM: 64, blockN: 64 });
    // Each query tile touches the window's 256 keys plus the diagonal tile's spill: 5 key tiles, 3 of them full.
    const middle = plan.tiles[32];
    expect(middle?.segments).toEqual([
      { kStart: 1792, kEnd: 1856, full: false }, { kStart: 1856, kEnd: 2048, full: true }, { kStart: 2048, kEnd: 2112, full: false },
    ]);
  });
});

describe("index plans of the dynamic examples", () => {
  it("vertical_slash, block_sparse and document: every kept pair in exactly one segment, full segments fully kept", () => {
    const arb = fc.tuple(lengths(90), schedules, fc.integer({ min: 1, max: 12 }), fc.integer()).map(([{ qLen, kvLen }, schedule, block, seed]) => ({ qLen, kvLen, schedule, block, seed }));
    fc.assert(
      fc.property(arb, ({ qLen, kvLen, schedule, block, seed }) => {
        let state = seed >>> 0;
        const random = (n: number): number => {
          state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
          return state % n;
        };
        const cases: [string, Record<string, number>, Record<string, unknown>][] = [
          ["vertical_slash", {}, { vertical: [Array.from({ length: 3 }, () => random(kvLen))], slash: [[0, ...Array.from({ length: 2 }, () => random(kvLen))]] }],
          ["block_sparse", { block }, { blocks: [Array.from({ length: Math.ceil(qLen / block) }, () => Array.from({ length: Math.ceil(kvLen / block) }, () => random(2)))] }],
          ["document", {}, { doc: Array.from({ length: kvLen }, (_, k) => Math.floor((k * 3) / kvLen) + random(1)) }],
        ];
        for (const [name, params, inputs] of cases) {
          const binding = bindOrThrow(examplePattern(name), { qLen, kvLen }, params, inputs);
          const { plan, regions } = planPattern(binding, { head: 0, layer: 0 }, schedule);
          expect(plan.static).toBe(false);
          const mask = evaluateMask(binding);
          checkPlanCoversMask(plan, mask);
          expect(planStats(plan, regions, binding, 0, 0, 64).keptPairs).toBe(mask.count());
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("closedFormPlan", () => {
  it("plans nothing for a pattern that keeps nothing", () => {
    const binding = bindOrThrow(patternFromSource("pattern nothing = causal & k > q", "nothing"), { qLen: 50, kvLen: 60 });
    const plan = closedFormPlan(regionsOf(simplify(specialize(binding, { head: 0, layer: 0 })), binding.sizes), binding.sizes, { blockM: 16, blockN: 16 });
    expect(plan.tiles.every((t) => t.segments.length === 0)).toBe(true);
  });
});
