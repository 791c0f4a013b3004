import { Option, type Command } from "commander";
import { diagnostic } from "../../diagnostics/diagnostic.js";
import { evaluateMask, maxMaskPairs } from "../../ir/mask/evaluate.js";
import { figurePng } from "../../ir/picture/figure-png.js";
import { figureSvg } from "../../ir/picture/figure-svg.js";
import { maskFigure } from "../../ir/picture/pictures.js";
import { planStats } from "../../ir/plan/stats.js";
import { planPattern } from "../../passes/plan.js";
import { addBindingOptions, bindFromOptions, type BindingOptions } from "../binding-options.js";
import { CommandFailed, writeOutput } from "../io.js";

interface MaskOptions extends BindingOptions {
  readonly format: "txt" | "json" | "png" | "svg";
  readonly out?: string;
}

/** Tiles the mask picture plans with: only its sampled rows' segments are counted. */
const pictureTiles = { blockM: 64, blockN: 64 };

export function registerMask(program: Command): void {
  const command = program
    .command("mask")
    .description("evaluate the exact mask of one head and layer: `#` kept, `.` dropped (txt), 0/1 rows (json), or a picture with axes, legend and density (png, svg; any length, shaded by density)")
    .argument("<file>", ".stip file")
    .addHelpText("after", "\nExamples:\n  stipple mask examples/a_shape.stip --param sink=2 --param window=4 --q-len 16 --kv-len 16\n  stipple mask examples/a_shape.stip --q-len 1048576 --kv-len 1048576 --format svg --out mask.svg");
  addBindingOptions(command)
    .addOption(new Option("--format <format>", "output format").choices(["txt", "json", "png", "svg"]).default("txt"))
    .option("--out <file>", "write to a file instead of stdout")
    .action((file: string, options: MaskOptions) => {
      const { binding, head, layer } = bindFromOptions(file, options);
      const { Q, K } = binding.sizes;
      if (options.format === "png" || options.format === "svg") {
        // Pictures work from the plan and sampled rows, at any length (1M × 1M included).
        const { plan, regions } = planPattern(binding, { head, layer }, pictureTiles);
        const figure = maskFigure(binding, head, layer, plan, planStats(plan, regions, binding, head, layer, 128));
        writeOutput(options.format === "png" ? figurePng(figure) : figureSvg(figure), options.out);
        return;
      }
      if (Q * K > maxMaskPairs) {
        throw new CommandFailed([diagnostic("STP312", `a ${Q} × ${K} mask has more than ${maxMaskPairs} pairs`, {
          hint: "use `stipple plan` for long sequences: it works per tile without the whole mask",
        })]);
      }
      const mask = evaluateMask(binding, head, layer);
      switch (options.format) {
        case "txt":
          writeOutput(mask.toText() + "\n", options.out);
          return;
        case "json": {
          const rows = Array.from({ length: Q }, (_, r) => Array.from({ length: K }, (_, c) => (mask.get(r, c) ? 1 : 0)));
          const kept = mask.count();
          const json = {
            pattern: binding.pattern.name,
            params: Object.fromEntries(binding.params),
            qLen: Q, kvLen: K, head, layer,
            keptPairs: kept,
            density: kept / (Q * K),
            mask: rows,
          };
          writeOutput(JSON.stringify(json) + "\n", options.out);
          return;
        }
      }
    });
}
