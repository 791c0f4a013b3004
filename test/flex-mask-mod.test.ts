import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { printMaskModule } from "../backends/flex/mask-mod.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { lowerAttention } from "../passes/lower.js";
import { staticExampleParams } from "./example-params.js";
import { bindOrThrow, examplePattern } from "./helpers.js";

/**
 * `stipple emit --target flex` prints the launches' masks as a FlexAttention mask_mod. Here the printed
 * Python runs under python3 with plain-int stand-ins for torch's helpers (the same operators: `&`, `|`,
 * `//`, `%` floor on both) and must keep exactly the pairs the mask evaluator keeps, per head.
 */
const harness = `
import sys, types
fake = types.ModuleType("torch")
fake.where = lambda c, a, b: a if c else b
fake.minimum, fake.maximum, fake.logical_not = min, max, (lambda x: not x)
sys.modules["torch"] = fake
source, q_len, kv_len, heads, kv_heads = sys.stdin.read(), *map(int, sys.argv[1:5])
scope = {}
exec(source, scope)
mask_mod = scope["make_mask_mod"](q_len, kv_len, heads, kv_heads)
for h in range(heads):
    print("".join("#" if mask_mod(0, h, q, k) else "." for q in range(q_len) for k in range(kv_len)))
`;

const cases = staticExampleParams(40);

describe("FlexAttention mask_mod printing", () => {
  for (const [name, params] of cases) {
    it(`${name}: the printed mask_mod keeps exactly the reference's pairs`, () => {
      fc.assert(
        fc.property(params, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 3 }), (values, qLen, extra, layer) => {
          const kvLen = qLen + extra;
          const inputs = name === "duo" ? { retrieval: Array.from({ length: 4 }, (_, l) => [l & 1, 1 - (l & 1)]) } : {};
          const binding = bindOrThrow(examplePattern(name), { qLen, kvLen, heads: 4, kvHeads: 2, layers: 4 }, values, inputs);
          const launches = lowerAttention(binding, layer, { headDim: 64, dtype: "f16", blockM: 64, blockN: 64 });
          const printed = execFileSync("python3", ["-c", harness, String(qLen), String(kvLen), "4", "2"], { input: printMaskModule(name, launches, ""), encoding: "utf8" });
          const rows = printed.trim().split("\n");
          for (let head = 0; head < 4; head++) {
            const bits = evaluateMask(binding, head, layer);
            const expected = Array.from({ length: qLen * kvLen }, (_, at) => (bits.get(Math.floor(at / kvLen), at % kvLen) ? "#" : ".")).join("");
            expect(rows[head], `${name} head ${head}`).toBe(expected);
          }
        }),
        { numRuns: 8 },
      );
    });
  }
});
