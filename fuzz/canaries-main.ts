import { Command } from "commander";
import { openWebGpu } from "../backends/wgsl/device.js";
import { progress } from "../util/progress.js";
import { checkCanaryShape, loadExamplePatterns, randomCanaryShape } from "./canaries.js";
import { seededRandom } from "./random-inputs.js";

/** `npm run canaries -- --shapes 1000 [--seed S]`: the bounds-guard suite's long run on the software adapter. */
interface CanaryOptions {
  readonly shapes: string;
  readonly seed: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

const program = new Command("canaries")
  .description("run every example on random edge shapes with canaries around each buffer a kernel writes")
  .option("--shapes <n>", "how many random shapes", "1000")
  .option("--seed <s>", "the shape stream", "1")
  .option("--json", "print the summary as JSON")
  .option("--quiet", "no progress line")
  .action(async (options: CanaryOptions) => {
    const gpu = await openWebGpu("auto", { robust: false });
    const examples = loadExamplePatterns();
    const total = Number(options.shapes);
    const bar = progress("canaries", total, { quiet: options.quiet === true });
    const failures: { n: number; shape: unknown; problem: string }[] = [];
    const start = performance.now();
    let estimated = 0;
    for (let n = 0; n < total; n++) {
      const random = seededRandom(Number(options.seed) * 1_000_003 + n);
      const shape = randomCanaryShape(random, examples);
      if (shape.estimate) estimated++;
      const problem = await checkCanaryShape(gpu, shape, examples, random);
      if (problem !== undefined) failures.push({ n, shape, problem });
      bar.update(n + 1, failures.length === 0 ? "" : `${failures.length} failures`);
    }
    bar.finish(`${failures.length} failures`);
    const summary = { adapter: gpu.description, shapes: total, estimated, failures, seconds: (performance.now() - start) / 1000 };
    if (options.json === true) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      process.stdout.write(`${total} shapes (${estimated} estimated) on ${gpu.description} in ${summary.seconds.toFixed(0)} s: ${failures.length} failures\n`);
      for (const f of failures) process.stdout.write(`  shape ${f.n} ${JSON.stringify(f.shape)}: ${f.problem}\n`);
    }
    process.exitCode = failures.length === 0 ? 0 : 1;
  });

await program.parseAsync();
