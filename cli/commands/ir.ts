import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { compileCuda } from "../../backends/cuda/compile.js";
import { emitCuda } from "../../backends/cuda/emit.js";
import { cudaLowering, type CudaArch } from "../../backends/cuda/schedule.js";
import { emitWgsl } from "../../backends/wgsl/emit.js";
import { defaultBlockM, defaultBlockN } from "../../backends/wgsl/schedule.js";
import { parseStip } from "../../grammar/parse.js";
import { printFile } from "../../grammar/print.js";
import { printKernel } from "../../ir/kernel/kernel.js";
import { printPatternDef } from "../../ir/pattern/print.js";
import { printNode } from "../../ir/pattern/print.js";
import { planText } from "../../ir/plan/plan.js";
import { printSymbolicRegionForm } from "../../ir/regions/region.js";
import { lowerAttention } from "../../passes/lower.js";
import { planPattern } from "../../passes/plan.js";
import { symbolicRegionsOf } from "../../passes/regions.js";
import { simplify } from "../../passes/simplify.js";
import { specialize } from "../../passes/specialize.js";
import { addBindingOptions, bindFromOptions, type BindingOptions } from "../binding-options.js";
import { integerOption, writeOutput } from "../io.js";

const stages = ["ast", "pattern", "simplified", "regions", "plan", "kernel", "wgsl", "cuda", "ptx"] as const;
type Stage = (typeof stages)[number];

interface IrOptions extends BindingOptions {
  readonly stage: Stage;
  readonly headDim: string;
  readonly blockM?: string;
  readonly blockN?: string;
  readonly time?: boolean;
  readonly arch: CudaArch;
}

/** Stage dumps: any IR level of one pattern, printed; `--time` times each pass (names match passes/). */
export function registerIr(program: Command): void {
  const command = program
    .command("ir")
    .description("print one stage of the compiler for a pattern: ast, pattern (checked Pattern IR), simplified, regions, plan, kernel (kernel IR), wgsl, cuda or ptx")
    .argument("<file>", ".stip file")
    .addHelpText("after", "\nExamples:\n  stipple ir examples/grid.stip --stage regions\n  stipple ir examples/a_shape.stip --stage kernel --time");
  addBindingOptions(command, { lengths: "optional" })
    .addOption(new Option("--stage <stage>", "which stage to print").choices([...stages]).default("pattern"))
    .option("--head-dim <D>", "head dimension (kernel and wgsl stages)", "64")
    .option("--block-m <rows>", "query rows per tile")
    .option("--block-n <keys>", "keys per tile")
    .addOption(new Option("--arch <arch>", "GPU architecture for --stage ptx").choices(["sm_80", "sm_90"]).default("sm_80"))
    .option("--time", "print how long each pass took, on stderr")
    .action((file: string, options: IrOptions) => {
      const times: [string, number][] = [];
      const timed = <T>(name: string, run: () => T): T => {
        const start = performance.now();
        const value = run();
        times.push([name, performance.now() - start]);
        return value;
      };
      if (options.stage === "ast") {
        const parsed = timed("parse", () => parseStip(readFileSync(file, "utf8"), file));
        writeOutput(printFile(parsed.ast), undefined);
      } else {
        const { binding, head, layer } = timed("check", () => bindFromOptions(file, options));
        const headDim = integerOption(options.headDim, "--head-dim");
        const schedule = {
          blockM: integerOption(options.blockM, "--block-m", defaultBlockM),
          blockN: integerOption(options.blockN, "--block-n", defaultBlockN(headDim)),
        };
        const specialized = timed("specialize", () => specialize(binding, { head, layer }, { keepSizes: true }));
        const simplified = timed("simplify", () => simplify(specialized));
        const regions = timed("regions", () => symbolicRegionsOf(simplified));
        const text = ((): string => {
          switch (options.stage) {
            case "pattern": return printPatternDef(binding.pattern);
            case "simplified": return `${printNode(simplified)}\n`;
            case "regions": return printSymbolicRegionForm(regions);
            case "plan": return `${planText(timed("plan", () => planPattern(binding, { head, layer }, schedule)).plan)}\n`;
            case "kernel": return timed("lower", () => lowerAttention(binding, layer, { headDim, dtype: "f32", ...schedule })).map((l) => printKernel(l.kernel)).join("\n");
            case "wgsl": {
              const launches = timed("lower", () => lowerAttention(binding, layer, { headDim, dtype: "f32", ...schedule }));
              return timed("emit", () => launches.map((l) => emitWgsl(l.kernel)).join("\n"));
            }
            case "cuda": case "ptx": {
              // The CUDA kernel has its own tiles (64 × 64) and tensor-core types (f16 here).
              const launches = timed("lower", () => lowerAttention(binding, layer, { headDim, dtype: "f16", ...cudaLowering }));
              const sources = timed("emit", () => launches.map((l) => emitCuda(l.kernel)));
              if (options.stage === "cuda") return sources.join("\n");
              return timed("nvrtc", () => sources.map((source) => compileCuda(source, options.arch).ptx).join("\n"));
            }
          }
        })();
        writeOutput(text, undefined);
      }
      if (options.time === true) {
        for (const [name, ms] of times) process.stderr.write(`${name.padEnd(11)} ${ms.toFixed(3)} ms\n`);
      }
    });
}
