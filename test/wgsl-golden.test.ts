import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { emitWgsl } from "../backends/wgsl/emit.js";
import { defaultBlockM, defaultBlockN } from "../backends/wgsl/schedule.js";
import { emitTileBuilderWgsl } from "../backends/wgsl/tile-builder.js";
import { lowerAttention } from "../passes/lower.js";
import { bindOrThrow, examplePattern } from "./helpers.js";
import { goldenExamples, goldenInputs } from "./golden-examples.js";

/**
 * Golden WGSL: every example at its default parameters, head dim 64, default tiles (dynamic ones with their
 * tile-index builder after the attention kernel). Reviewed once,
 * byte-identical thereafter; UPDATE_GOLDEN=1 rewrites them (review the diff).
 */

describe("golden WGSL", () => {
  for (const name of goldenExamples) {
    it(name, () => {
      const inputs = goldenInputs[name] ?? {};
      const binding = bindOrThrow(examplePattern(name), { qLen: 1, kvLen: 1, heads: 2, kvHeads: 2 }, {}, inputs);
      const launches = lowerAttention(binding, 0, { headDim: 64, dtype: "f32", blockM: defaultBlockM, blockN: defaultBlockN(64) });
      const text = launches
        .map((l) => `// heads ${l.heads.join(", ")}\n${emitWgsl(l.kernel)}${l.kernel.segments.kind === "tileIndex" ? `\n${emitTileBuilderWgsl(l.kernel)}` : ""}`)
        .join("\n");
      const path = `test/golden/wgsl/${name}.wgsl`;
      if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(path, text);
      expect(existsSync(path), `${path} is missing: run with UPDATE_GOLDEN=1 once and review it`).toBe(true);
      expect(text).toBe(readFileSync(path, "utf8"));
    });
  }
});
