import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { openWebGpu } from "../backends/wgsl/device.js";
import { hash64 } from "../util/hash.js";
import { progress } from "../util/progress.js";
import { loadExamples } from "./examples.js";
import { fuzzCase, fuzzCases, type FuzzCase } from "./generate.js";
import { minimize } from "./minimize.js";
import { checkCase, type Stage, type Verdict } from "./oracle.js";
import type { FromWorker, ToWorker } from "./protocol.js";
import { readReproducer, reproducerText } from "./reproducer.js";

/**
 * `npm run fuzz -- [--cases N] [--seconds S] [--seed S] [--jobs J]`: the compiler fuzzer. Cases are numbered
 * in a stream fixed by the seed, so `--seed S --case N` reproduces any one of them. Workers are separate
 * processes watched for hangs; each failure is shrunk to a minimal `.stip` and saved in fuzz/regressions/,
 * which the test suite replays. Exit 0 when every case passed, 1 otherwise.
 */
interface FuzzOptions {
  readonly cases: string;
  readonly seconds?: string;
  readonly seed?: string;
  readonly jobs: string;
  readonly caseLimitMs: string;
  readonly deviceEvery: string;
  readonly case?: string;
  readonly replay?: string;
  readonly save: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

interface Failure {
  readonly n: number;
  readonly stage: string;
  readonly message: string;
  readonly file?: string;
}

const regressions = "fuzz/regressions";
const chunkSize = 100;
/** A case on the device compiles pipelines on a software adapter: it may take this many times longer. */
const deviceSlack = 8;

const program = new Command("fuzz")
  .description("fuzz the compiler with generated and mutated .stip sources; failures are saved as reproducers")
  .option("--cases <n>", "how many cases", "10000")
  .option("--seconds <s>", "stop starting cases after this long")
  .option("--seed <s>", "the case stream (default: from the clock, printed)")
  .option("--jobs <j>", "worker processes", String(availableParallelism()))
  .option("--case-limit-ms <ms>", "a case taking longer fails (a hang is killed at twice this)", "5000")
  .option("--device-every <n>", "run the WGSL kernel on the software adapter every n-th case (0: never)", "250")
  .option("--case <n>", "run only case n of the seed's stream, in this process, and print it")
  .option("--replay <file>", "run one reproducer (a .stip from fuzz/regressions/) and print its verdict")
  .option("--no-save", "do not write reproducers for failures")
  .option("--json", "print the summary as JSON on stdout")
  .option("--quiet", "no progress line")
  .action(async (options: FuzzOptions) => {
    process.exitCode = await main(options);
  });

await program.parseAsync();

async function main(options: FuzzOptions): Promise<number> {
  const examples = loadExamples();
  const seed = options.seed === undefined ? Date.now() % 2 ** 31 : Number(options.seed);
  if (options.replay !== undefined) {
    const theCase = readReproducer(readFileSync(options.replay, "utf8"));
    return report(await checkCase(theCase, examples, theCase.stage === "device" ? { device: await openWebGpu("auto", { robust: false }) } : {}));
  }
  if (options.case !== undefined) {
    const n = Number(options.case);
    const theCase = fuzzCase(fuzzCases(examples), seed, n);
    process.stdout.write(`# ${theCase.origin}, bind seed ${theCase.bindSeed}\n${theCase.source}\n`);
    const deviceEvery = Number(options.deviceEvery);
    const onDevice = deviceEvery > 0 && n % deviceEvery === 0;
    return report(await checkCase(theCase, examples, onDevice ? { device: await openWebGpu("auto", { robust: false }) } : {}));
  }
  const summary = await fuzz(seed, options);
  const failures: Failure[] = [];
  for (const failed of summary.failed) failures.push(await keep(failed, seed, examples, options.save));
  const result = { ...summary.counts, seed, failures, seconds: summary.seconds, slowestCaseMs: summary.slowest, casesPerSecond: summary.counts.cases / summary.seconds };
  if (options.json === true) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const c = summary.counts;
    process.stdout.write([
      `seed ${seed}: ${c.cases} cases in ${summary.seconds.toFixed(1)} s (${result.casesPerSecond.toFixed(0)}/s, slowest ${summary.slowest.toFixed(0)} ms)`,
      `  rejected with diagnostics ${c.rejected}, accepted ${c.accepted} (${c.bound} patterns bound and checked through every stage, ${c.refused} refused with a code, ${c.deviceRuns} run on the adapter)`,
      `  by origin: ${Object.entries(c.origins).map(([name, count]) => `${name} ${count}`).join(", ")}`,
      `  failures: ${failures.length}`,
      ...failures.map((f) => `    case ${f.n} [${f.stage}] ${f.message}${f.file === undefined ? "" : `\n      reproducer: ${f.file}`}`),
    ].join("\n") + "\n");
  }
  return failures.length === 0 ? 0 : 1;
}

function report(verdict: Verdict): number {
  process.stdout.write(`${JSON.stringify(verdict)}\n`);
  return verdict.kind === "failed" ? 1 : 0;
}

interface Counts {
  cases: number; rejected: number; accepted: number; bound: number; refused: number; deviceRuns: number;
  origins: Record<string, number>;
}

/** A case that failed in a worker: a stage of the oracle, or the runner's own verdicts on time. */
type FailedCase = { readonly n: number; readonly stage: Stage | "hang" | "slow"; readonly message: string; readonly fuzzCase?: FuzzCase };

/** Runs the cases over the workers; a worker silent for twice the case limit is killed and its case failed as a hang. */
async function fuzz(seed: number, options: FuzzOptions): Promise<{ counts: Counts; failed: FailedCase[]; seconds: number; slowest: number }> {
  const total = Number(options.cases);
  const caseLimit = Number(options.caseLimitMs);
  const deviceEvery = Number(options.deviceEvery);
  const deadline = options.seconds === undefined ? Infinity : performance.now() + 1000 * Number(options.seconds);
  const counts: Counts = { cases: 0, rejected: 0, accepted: 0, bound: 0, refused: 0, deviceRuns: 0, origins: {} };
  const failed: FailedCase[] = [];
  const bar = progress("fuzz", total, { quiet: options.quiet === true });
  const start = performance.now();
  let slowest = 0;
  let next = 0;
  const workerScript = fileURLToPath(new URL("./worker.js", import.meta.url));

  const record = (n: number, ms: number, origin: string, verdict: Verdict, fuzzCase?: FuzzCase): void => {
    counts.cases++;
    counts.origins[origin] = (counts.origins[origin] ?? 0) + 1;
    slowest = Math.max(slowest, ms);
    const limit = deviceEvery > 0 && n % deviceEvery === 0 ? caseLimit * deviceSlack : caseLimit;
    if (verdict.kind === "failed") failed.push({ n, stage: verdict.stage, message: verdict.message, ...(fuzzCase === undefined ? {} : { fuzzCase }) });
    else if (ms > limit) failed.push({ n, stage: "slow", message: `took ${ms.toFixed(0)} ms (limit ${limit} ms)`, ...(fuzzCase === undefined ? {} : { fuzzCase }) });
    if (verdict.kind === "rejected") counts.rejected++;
    if (verdict.kind === "accepted") {
      counts.accepted++;
      counts.bound += verdict.bound;
      counts.refused += verdict.refused;
      counts.deviceRuns += verdict.deviceRuns;
    }
    bar.update(counts.cases, failed.length === 0 ? "" : `${failed.length} failures`);
  };

  const runWorker = (): Promise<void> => new Promise((resolve) => {
    let child: ChildProcess | undefined;
    let chunk: { from: number; to: number } | undefined;
    let current = 0;
    let lastActivity = performance.now();
    const dispatch = (range?: { from: number; to: number }): void => {
      chunk = range ?? (next < total && performance.now() < deadline ? { from: next, to: (next = Math.min(total, next + chunkSize)) } : undefined);
      if (chunk === undefined) {
        clearInterval(watchdog);
        child?.kill();
        resolve();
        return;
      }
      current = chunk.from;
      lastActivity = performance.now();
      if (child === undefined) spawn();
      const task: ToWorker = { type: "run", seed, from: chunk.from, to: chunk.to, deviceEvery };
      child?.send(task);
    };
    const spawn = (): void => {
      child = fork(workerScript, [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
      child.on("message", (message: FromWorker) => {
        lastActivity = performance.now();
        if (message.type === "case") {
          record(message.n, message.ms, message.origin, message.verdict, message.fuzzCase);
          current = message.n + 1;
        } else if (message.type === "done") dispatch();
        else {
          // The worker itself broke (no adapter for device cases, say): a problem of the run, not a case.
          process.stderr.write(`\nfuzz: a worker failed: ${message.message}\n`);
          process.exit(2);
        }
      });
    };
    const watchdog = setInterval(() => {
      const limit = 2 * (deviceEvery > 0 && current % deviceEvery === 0 ? caseLimit * deviceSlack : caseLimit);
      if (chunk === undefined || performance.now() - lastActivity < limit) return;
      child?.kill("SIGKILL");
      child = undefined;
      const hung = current;
      counts.cases++;
      failed.push({ n: hung, stage: "hang", message: `no verdict after ${limit} ms: the worker was killed` });
      const rest = { from: hung + 1, to: chunk.to };
      dispatch(rest.from < rest.to ? rest : undefined);
      // dispatch() with undefined takes a fresh chunk, so the worker carries on either way.
    }, 250);
    dispatch();
  });

  await Promise.all(Array.from({ length: Math.max(1, Number(options.jobs)) }, runWorker));
  bar.finish(`${failed.length} failures`);
  return { counts, failed: failed.sort((a, b) => a.n - b.n), seconds: (performance.now() - start) / 1000, slowest };
}

/** Shrinks a failure (hangs are kept as they are: shrinking would run them here) and saves the reproducer. */
async function keep(failedCase: FailedCase, seed: number, examples: ReturnType<typeof loadExamples>, save: boolean): Promise<Failure> {
  const theCase = failedCase.fuzzCase ?? fuzzCase(fuzzCases(examples), seed, failedCase.n);
  const { stage } = failedCase;
  const shrunk = stage === "hang" || stage === "slow"
    ? { source: theCase.source, message: failedCase.message }
    : await minimize(theCase, { kind: "failed", stage, message: failedCase.message }, examples).then((m) => ({ source: m.source, message: m.failure.message }));
  const base = { n: failedCase.n, stage, message: shrunk.message };
  if (!save) return base;
  mkdirSync(regressions, { recursive: true });
  const file = `${regressions}/${stage.replace(/\s+/g, "-")}-${hash64(shrunk.source)}.stip`;
  writeFileSync(file, reproducerText({ ...theCase, source: shrunk.source }, { seed, n: failedCase.n, stage, message: base.message }));
  return { ...base, file };
}
