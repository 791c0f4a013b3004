import { Option, type Command } from "commander";
import { figurePng } from "../../ir/picture/figure-png.js";
import { figureSvg } from "../../ir/picture/figure-svg.js";
import { planFigure } from "../../ir/picture/pictures.js";
import { planText, type BlockPlan, type PlanStats } from "../../ir/plan/plan.js";
import { planStats } from "../../ir/plan/stats.js";
import { planPattern } from "../../passes/plan.js";
import { searchSchedules } from "../../passes/schedule-search.js";
import { addBindingOptions, bindFromOptions, type BindingOptions } from "../binding-options.js";
import { integerOption, writeOutput } from "../io.js";

interface PlanOptions extends BindingOptions {
  readonly format: "txt" | "json" | "png" | "svg" | "summary";
  readonly out?: string;
  readonly blockM: string;
  readonly blockN: string;
  readonly headDim: string;
  readonly searchTiles?: boolean;
}

export function registerPlan(program: Command): void {
  const command = program
    .command("plan")
    .description("plan the tiles a kernel visits: per query tile, key segments that are full (no mask) or partial; empty tiles are skipped")
    .argument("<file>", ".stip file")
    .addHelpText("after", "\nExamples:\n  stipple plan examples/a_shape.stip --q-len 131072 --kv-len 131072\n  stipple plan examples/grid.stip --q-len 4096 --kv-len 4096 --format png --out plan.png");
  addBindingOptions(command)
    .option("--block-m <rows>", "query rows per tile (BLOCK_M)", "64")
    .option("--block-n <keys>", "keys per tile (BLOCK_N)", "64")
    .option("--head-dim <D>", "head dimension, for the FLOP count", "128")
    .option("--search-tiles", "also report tile efficiency for tile shapes 16…128 (summary and json)")
    .addOption(new Option("--format <format>", "txt: F/P/. per key tile; json; png or svg: a picture of the tiles and kept pairs; summary").choices(["txt", "json", "png", "svg", "summary"]).default("summary"))
    .option("--out <file>", "write to a file instead of stdout")
    .action((file: string, options: PlanOptions) => {
      const { binding, head, layer } = bindFromOptions(file, options);
      const schedule = { blockM: positive(options.blockM, "--block-m"), blockN: positive(options.blockN, "--block-n") };
      const { plan, regions } = planPattern(binding, { head, layer }, schedule);
      if (options.format === "txt") return writeOutput(planText(plan) + "\n", options.out);
      const stats = planStats(plan, regions, binding, head, layer, integerOption(options.headDim, "--head-dim"));
      if (options.format === "png" || options.format === "svg") {
        const figure = planFigure(binding, head, layer, plan, stats);
        return writeOutput(options.format === "png" ? figurePng(figure) : figureSvg(figure), options.out);
      }
      const search = options.searchTiles === true ? searchSchedules(binding, { head, layer }, stats.keptPairs) : undefined;
      if (options.format === "json") {
        const json = {
          static: plan.static, blockM: schedule.blockM, blockN: schedule.blockN, tiles: plan.tiles,
          keptPairs: stats.keptPairs, causalPairs: stats.causalPairs, density: stats.density, computedPairs: stats.computedPairs,
          flops: stats.flops, metadataBytes: plan.metadataBytes,
          fullPairs: stats.fullPairs, tileEfficiency: stats.tileEfficiency, ...(search === undefined ? {} : { scheduleSearch: search }),
        };
        return writeOutput(JSON.stringify(json) + "\n", options.out);
      }
      return writeOutput(summary(binding.pattern.name, plan, stats, search), options.out);
    });
}

function positive(value: string, option: string): number {
  const number = integerOption(value, option);
  return number >= 1 ? number : integerOption("not positive", option);
}

function summary(name: string, plan: BlockPlan, stats: PlanStats, search: ReturnType<typeof searchSchedules> | undefined): string {
  const { Q, K } = plan.sizes;
  const percent = (x: number): string => `${(100 * x).toFixed(2)} %`;
  const count = (x: number): string => x.toLocaleString("en-US");
  const source = plan.source.kind === "closedForm"
    ? `closed form (${plan.source.constants} integer constants; segments computed from the tile index)`
    : "index plan (segment lists built from the runtime inputs)";
  const lines = [
    `pattern ${name}: ${plan.static ? "static" : "dynamic"}, Q = ${count(Q)}, K = ${count(K)}, tiles ${plan.schedule.blockM} × ${plan.schedule.blockN}`,
    `plan: ${source}`,
    `metadata: ${count(plan.metadataBytes)} bytes`,
    `kept pairs: ${count(stats.keptPairs)} (density ${percent(stats.density)} of all pairs, ${percent(stats.keptPairs / stats.causalPairs)} of causal)`,
    `computed pairs: ${count(stats.computedPairs)} (${percent(stats.fullPairs / Math.max(1, stats.computedPairs))} in full tiles, no mask)`,
    `tile efficiency: ${percent(stats.tileEfficiency)} (kept / computed)`,
    `speedup over causal-dense: ideal ${stats.idealSpeedup.toFixed(2)}×, this plan at best ${stats.planSpeedup.toFixed(2)}×`,
    `FLOPs (4·D·kept·H): ${stats.flops.toExponential(3)}`,
  ];
  if (search !== undefined) {
    lines.push("tile shapes, best first (BLOCK_M × BLOCK_N: tile efficiency, segments):");
    for (const c of search) lines.push(`  ${c.schedule.blockM} × ${c.schedule.blockN}: ${percent(c.tileEfficiency)}, ${count(c.segments)}`);
  }
  return lines.join("\n") + "\n";
}
