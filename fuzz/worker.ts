import { openWebGpu, type WebGpuContext } from "../backends/wgsl/device.js";
import { loadExamples } from "./examples.js";
import { fuzzCase, fuzzCases } from "./generate.js";
import { checkCase } from "./oracle.js";
import type { FromWorker, ToWorker } from "./protocol.js";

/**
 * A fuzz worker process: runs the cases it is sent and reports each verdict (with the case, when it failed).
 * The runner kills it when a case takes too long, so a hang in the compiler cannot stall the fuzzer.
 */
const examples = loadExamples();
const cases = fuzzCases(examples);
let device: Promise<WebGpuContext> | undefined;
/** Test hook: the case number at which this worker pretends to hang, to test the runner's watchdog. */
const hangAt = process.env.STIPPLE_FUZZ_TEST_HANG === undefined ? undefined : Number(process.env.STIPPLE_FUZZ_TEST_HANG);

function send(message: FromWorker): void {
  process.send?.(message);
}

process.on("message", (message: ToWorker) => {
  void run(message).catch((error: unknown) => send({ type: "error", message: error instanceof Error ? error.message : String(error) }));
});

async function run(task: ToWorker): Promise<void> {
  for (let n = task.from; n < task.to; n++) {
    if (n === hangAt) for (;;) { /* never returns: the runner must kill this process */ }
    const onDevice = task.deviceEvery > 0 && n % task.deviceEvery === 0;
    if (onDevice) device ??= openWebGpu("auto", { robust: false });
    const theCase = fuzzCase(cases, task.seed, n);
    const start = performance.now();
    const verdict = await checkCase(theCase, examples, onDevice && device !== undefined ? { device: await device } : {});
    const ms = performance.now() - start;
    send({ type: "case", n, ms, origin: theCase.origin, verdict, ...(verdict.kind === "failed" ? { fuzzCase: theCase } : {}) });
  }
  send({ type: "done" });
}
