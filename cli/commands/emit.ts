import { Option, type Command } from "commander";
import { defaultBlockM, defaultBlockN, wgslCapabilities } from "../../backends/wgsl/schedule.js";
import { emitWgsl } from "../../backends/wgsl/emit.js";
import { diagnostic } from "../../diagnostics/diagnostic.js";
import { lowerAttention } from "../../passes/lower.js";
import { addBindingOptions, bindFromOptions, type BindingOptions } from "../binding-options.js";
import { CommandFailed, integerOption, writeOutput } from "../io.js";

interface EmitOptions extends BindingOptions {
  readonly target: "wgsl" | "cuda" | "ptx";
  readonly headDim: string;
  readonly dtype: "f32" | "f16";
  readonly blockM?: string;
  readonly blockN?: string;
  readonly out?: string;
}

export function registerEmit(program: Command): void {
  const command = program
    .command("emit")
    .description("print the attention kernel's source: the same pattern, parameters and schedule always give the same text; lengths arrive at launch")
    .argument("<file>", ".stip file");
  addBindingOptions(command, { lengths: "optional" })
    .addOption(new Option("--target <target>", "kernel language").choices(["wgsl", "cuda", "ptx"]).default("wgsl"))
    .option("--head-dim <D>", `head dimension (${wgslCapabilities.headDims.join(", ")})`, "64")
    .addOption(new Option("--dtype <dtype>", "tensor type of q, k, v").choices(["f32", "f16"]).default("f32"))
    .option("--block-m <rows>", `query rows per tile (default ${defaultBlockM})`)
    .option("--block-n <keys>", "keys per tile (default: what 16 KiB of workgroup memory holds for the head dim)")
    .option("--out <file>", "write to a file instead of stdout")
    .action((file: string, options: EmitOptions) => {
      if (options.target !== "wgsl") {
        throw new CommandFailed([diagnostic("STP902", `--target ${options.target} is not available yet`, { hint: "use --target wgsl; the CUDA backend is planned (issue 5)" })]);
      }
      const { binding, layer } = bindFromOptions(file, options);
      const headDim = integerOption(options.headDim, "--head-dim");
      if (!wgslCapabilities.headDims.includes(headDim)) {
        throw new CommandFailed([diagnostic("STP902", `head dim ${headDim} is not supported by the WGSL backend`, { hint: `choose one of ${wgslCapabilities.headDims.join(", ")}` })]);
      }
      const launches = lowerAttention(binding, layer, {
        headDim,
        dtype: options.dtype,
        blockM: integerOption(options.blockM, "--block-m", defaultBlockM),
        blockN: integerOption(options.blockN, "--block-n", defaultBlockN(headDim)),
      });
      const sources = launches.map((launch) =>
        launches.length === 1 ? emitWgsl(launch.kernel) : `// ---- heads ${launch.heads.join(", ")} ----\n${emitWgsl(launch.kernel)}`);
      writeOutput(sources.join("\n"), options.out);
    });
}
