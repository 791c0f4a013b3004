import { Option, type Command } from "commander";
import { diagnostic } from "../../diagnostics/diagnostic.js";
import { evaluateMask, maxMaskPairs } from "../../ir/mask/evaluate.js";
import { maskPng } from "../../ir/mask/picture.js";
import { addBindingOptions, bindFromOptions, type BindingOptions } from "../binding-options.js";
import { CommandFailed, writeOutput } from "../io.js";

interface MaskOptions extends BindingOptions {
  readonly format: "txt" | "json" | "png";
  readonly out?: string;
}

export function registerMask(program: Command): void {
  const command = program
    .command("mask")
    .description("evaluate the exact mask of one head and layer: `#` kept, `.` dropped (txt), 0/1 rows (json) or a picture (png)")
    .argument("<file>", ".stip file");
  addBindingOptions(command)
    .addOption(new Option("--format <format>", "output format").choices(["txt", "json", "png"]).default("txt"))
    .option("--out <file>", "write to a file instead of stdout")
    .action((file: string, options: MaskOptions) => {
      const { binding, head, layer } = bindFromOptions(file, options);
      const { Q, K } = binding.sizes;
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
        case "png":
          writeOutput(maskPng(mask), options.out);
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
