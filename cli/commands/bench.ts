import type { Command } from "commander";
import { runWgslStatic } from "../../bench/wgsl-static.js";
import { readFileSync } from "node:fs";
import { integerOption, output } from "../io.js";

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("time the static examples' sparse kernels against causal-dense and masked-dense kernels on the WebGPU adapter at hand; prints ratios and writes bench/results/wgsl-static.json")
    .option("--length <L>", "query and key length", "4096")
    .option("--reps <n>", "timed repetitions per kernel (median reported)", "5")
    .option("--pattern <name...>", "only these examples")
    .option("--out <file.json>", "where to write the results", "bench/results/wgsl-static.json")
    .option("--json", "print the results (what --out gets) as JSON on stdout, instead of the table")
    .action(async (options: { length: string; reps: string; pattern?: string[]; out: string; json?: boolean }) => {
      await runWgslStatic({
        quiet: options.json === true || output.quiet,
        length: integerOption(options.length, "--length"),
        repetitions: integerOption(options.reps, "--reps"),
        resultFile: options.out,
        ...(options.pattern === undefined ? {} : { only: options.pattern }),
      });
      if (options.json === true) process.stdout.write(readFileSync(options.out, "utf8"));
    });
}
