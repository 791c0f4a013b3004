import { Option, type Command } from "commander";
import { compileCuda } from "../../backends/cuda/compile.js";
import { emitCuda } from "../../backends/cuda/emit.js";
import { cudaCapabilities, cudaTile, type CudaArch } from "../../backends/cuda/schedule.js";
import { printMaskModule } from "../../backends/flex/mask-mod.js";
import { defaultBlockM, defaultBlockN, wgslCapabilities } from "../../backends/wgsl/schedule.js";
import { describeHeadDims, unsupportedHeadDim } from "../../backends/head-dims.js";
import { emitWgsl } from "../../backends/wgsl/emit.js";
import type { AttentionKernel, Dtype } from "../../ir/kernel/kernel.js";
import { dynamismOf } from "../../ir/pattern/pattern.js";
import { diagnostic } from "../../diagnostics/diagnostic.js";
import { lowerAttention } from "../../passes/lower.js";
import { addBindingOptions, bindFromOptions, type BindingOptions } from "../binding-options.js";
import { CommandFailed, integerOption, writeOutput } from "../io.js";

interface EmitOptions extends BindingOptions {
  readonly target: "wgsl" | "cuda" | "ptx" | "flex";
  readonly headDim: string;
  readonly dtype?: Dtype;
  readonly arch: CudaArch;
  readonly blockM?: string;
  readonly blockN?: string;
  readonly out?: string;
}

export function registerEmit(program: Command): void {
  const command = program
    .command("emit")
    .description("print the attention kernel's source: the same pattern, parameters and schedule always give the same text; lengths arrive at launch")
    .argument("<file>", ".stip file")
    .addHelpText("after", "\nExamples:\n  stipple emit examples/a_shape.stip --param sink=64 --param window=1024 --target wgsl --head-dim 128\n  stipple emit examples/a_shape.stip --target cuda --dtype bf16 --head-dim 128 --out a_shape.cu\n  stipple emit examples/a_shape.stip --target flex   # a FlexAttention mask_mod with the same mask");
  addBindingOptions(command, { lengths: "optional" })
    .addOption(new Option("--target <target>", "kernel language, or flex: a PyTorch FlexAttention mask_mod of the same mask").choices(["wgsl", "cuda", "ptx", "flex"]).default("wgsl"))
    .option("--head-dim <D>", `head dimension (WGSL: ${describeHeadDims(wgslCapabilities.headDims)}; CUDA: ${describeHeadDims(cudaCapabilities.headDims)})`, "64")
    .addOption(new Option("--dtype <dtype>", "tensor type of q, k, v (default: f32 for wgsl, f16 for cuda and ptx)").choices(["f32", "f16", "bf16"]))
    .addOption(new Option("--arch <arch>", "GPU architecture for --target ptx").choices([...cudaCapabilities.archs]).default("sm_80"))
    .option("--block-m <rows>", `query rows per tile (WGSL; default ${defaultBlockM}; CUDA uses ${cudaTile.blockM})`)
    .option("--block-n <keys>", `keys per tile (WGSL; default: what 16 KiB of workgroup memory holds for the head dim; CUDA uses ${cudaTile.blockN})`)
    .option("--out <file>", "write to a file instead of stdout")
    .action((file: string, options: EmitOptions) => {
      const { binding, layer } = bindFromOptions(file, options);
      const headDim = integerOption(options.headDim, "--head-dim");
      const onWgsl = options.target === "wgsl";
      const capabilities = onWgsl ? wgslCapabilities.headDims : cudaCapabilities.headDims;
      const unsupported = unsupportedHeadDim(capabilities, headDim, onWgsl ? "WGSL" : "CUDA", "STP902");
      if (unsupported !== undefined) throw new CommandFailed([unsupported]);
      const dtype = options.dtype ?? (onWgsl ? "f32" : "f16");
      if (onWgsl && dtype === "bf16") throw new CommandFailed([diagnostic("STP902", "the WGSL backend takes f32 or f16 tensors", { hint: "use --dtype f16, or --target cuda for bf16" })]);
      const launches = lowerAttention(binding, layer, {
        headDim,
        dtype,
        blockM: onWgsl ? integerOption(options.blockM, "--block-m", defaultBlockM) : cudaTile.blockM,
        blockN: onWgsl ? integerOption(options.blockN, "--block-n", defaultBlockN(headDim)) : cudaTile.blockN,
        gathers: onWgsl,
      });
      const print = (kernel: AttentionKernel): string => {
        switch (options.target) {
          case "wgsl": return emitWgsl(kernel);
          case "cuda": return emitCuda(kernel);
          case "ptx": return compileCuda(emitCuda(kernel), options.arch).ptx;
          case "flex": throw new Error("printed above");
        }
      };
      if (options.target === "flex") {
        if (dynamismOf(binding.pattern) === "dynamic") {
          throw new CommandFailed([diagnostic("STP902", `pattern ${binding.pattern.name} reads runtime inputs; --target flex prints static patterns`, { hint: "use --target wgsl for dynamic patterns" })]);
        }
        const note = [...[...binding.params].map(([name, value]) => `${name}=${value}`), `layer ${layer}`].join(", ");
        writeOutput(printMaskModule(binding.pattern.name, launches, note), options.out);
        return;
      }
      const sources = launches.map((launch) =>
        launches.length === 1 ? print(launch.kernel) : `// ---- heads ${launch.heads.join(", ")} ----\n${print(launch.kernel)}`);
      writeOutput(sources.join("\n"), options.out);
    });
}
