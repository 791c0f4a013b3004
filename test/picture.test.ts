import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { staticBody } from "../fuzz/arbitraries.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { figurePng } from "../ir/picture/figure-png.js";
import { figureSvg } from "../ir/picture/figure-svg.js";
import { layout } from "../ir/picture/figure.js";
import { hasGlyph } from "../ir/picture/font.js";
import { pictureGrid } from "../ir/picture/grid.js";
import { maskFigure, planFigure } from "../ir/picture/pictures.js";
import { planStats } from "../ir/plan/stats.js";
import { planPattern } from "../passes/plan.js";
import { runCli } from "./cli-runner.js";
import { bindOrThrow, examplePattern, patternFromSource } from "./helpers.js";

/** Pictures: their cells are the mask's kept shares, exactly where a cell's rows are all sampled; any length draws. */
describe("pictures", () => {
  it("cells equal the exact mask's kept shares (one pair a cell, and 4 × 4 pairs a cell)", () => {
    fc.assert(fc.property(staticBody, fc.integer({ min: 1, max: 120 }), fc.integer({ min: 0, max: 3 }), (body, kvLen, cut) => {
      const qLen = Math.max(1, kvLen - cut * 17);
      const binding = bindOrThrow(patternFromSource(`pattern p() = ${body}\n`, "p"), { qLen, kvLen });
      const { plan } = planPattern(binding, { head: 0, layer: 0 }, { blockM: 16, blockN: 16 });
      const mask = evaluateMask(binding);
      const grid = pictureGrid(binding, 0, 0, plan);
      for (let i = 0; i < qLen; i++) for (let k = 0; k < kvLen; k++) expect(grid.kept[i * grid.cols + k]).toBe(mask.get(i, k) ? 1 : 0);
    }), { numRuns: 40 });
    const binding = bindOrThrow(examplePattern("dilated"), { qLen: 2048, kvLen: 2048 }, { window: 100, dilation: 3 });
    const { plan } = planPattern(binding, { head: 0, layer: 0 }, { blockM: 64, blockN: 64 });
    const grid = pictureGrid(binding, 0, 0, plan);
    const mask = evaluateMask(binding);
    expect([grid.cols, grid.rows]).toEqual([512, 512]);
    for (const [row, col] of [[0, 0], [300, 299], [511, 511], [400, 380], [100, 2]] as const) {
      let kept = 0;
      for (let i = 4 * row; i < 4 * row + 4; i++) kept += mask.countRange(i, 4 * col, 4 * col + 4);
      expect(grid.kept[row * 512 + col]).toBeCloseTo(kept / 16, 12);
    }
  });

  it("draws PNG and SVG with title, axes and legend, in a font that has every character they use", () => {
    const binding = bindOrThrow(examplePattern("tri_shape"), { qLen: 300, kvLen: 700 }, { sink: 4, window: 32, last: 20 });
    const { plan, regions } = planPattern(binding, { head: 0, layer: 0 }, { blockM: 64, blockN: 64 });
    const stats = planStats(plan, regions, binding, 0, 0, 64);
    for (const figure of [maskFigure(binding, 0, 0, plan, stats), planFigure(binding, 0, 0, plan, stats)]) {
      expect(figure.title).toMatch(/^tri_shape {2}Q 300 × K 700 {2}head 0 layer 0 {2}density \d/);
      const text = [figure.title, figure.xLabel, figure.yLabel, ...figure.legend.map((l) => l.label)].join("");
      expect([...text].filter((char) => !hasGlyph(char))).toEqual([]);
      const png = figurePng(figure);
      const view = new DataView(png.buffer, png.byteOffset);
      expect([view.getUint32(16), view.getUint32(20)]).toEqual([layout(figure).width, layout(figure).height]);
      const svg = figureSvg(figure);
      expect(svg).toContain("<text x=\"4\" y=\"18\" font-size=\"14\" font-weight=\"bold\">tri_shape");
      expect(svg).toContain(">key position k</text>");
      expect(svg).toContain("data:image/png;base64,");
    }
  });

  it("pictures a 1M × 1M mask and plan in seconds, downsampled", async () => {
    const start = performance.now();
    const svg = await runCli(["mask", "examples/a_shape.stip", "--q-len", "1048576", "--kv-len", "1048576", "--format", "svg"]);
    expect(svg.status, svg.stderr).toBe(0);
    expect(svg.stdout).toMatch(/Q 1M × K 1M {2}head 0 layer 0 {2}density 0\.39%/);
    expect(svg.stdout).toContain(">1M</text>");
    expect(svg.stdout).toContain("a cell: 2K × 2K pairs");
    const plan = await runCli(["plan", "examples/a_shape.stip", "--q-len", "1048576", "--kv-len", "1048576", "--format", "png"]);
    expect(plan.status, plan.stderr).toBe(0);
    expect(performance.now() - start).toBeLessThan(30_000);
  }, 60_000);
});
