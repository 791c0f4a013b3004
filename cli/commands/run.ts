import { readFileSync, writeFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { openWebGpu, type AdapterChoice } from "../../backends/wgsl/device.js";
import { runAttention } from "../../backends/wgsl/run.js";
import { defaultBlockM, defaultBlockN, wgslCapabilities } from "../../backends/wgsl/schedule.js";
import { diagnostic } from "../../diagnostics/diagnostic.js";
import { evaluateMask } from "../../ir/mask/evaluate.js";
import { denseAttention } from "../../ir/reference/dense-attention.js";
import { lowerAttention } from "../../passes/lower.js";
import { readNpy, writeNpy, type NpyArray } from "../../util/npy.js";
import { addBindingOptions, bindFromOptions, type BindingOptions } from "../binding-options.js";
import { CommandFailed, integerOption } from "../io.js";

interface RunOptions extends BindingOptions {
  readonly q: string;
  readonly k: string;
  readonly v: string;
  readonly out: string;
  readonly lse?: string;
  readonly check?: boolean;
  readonly adapter: AdapterChoice;
  readonly blockM?: string;
  readonly blockN?: string;
  readonly json?: boolean;
}

/** Relative tolerance of --check: max abs error over max(1, max |reference|). */
export const checkTolerance = 1e-4;

export function registerRun(program: Command): void {
  const command = program
    .command("run")
    .description("run the pattern's attention kernel on WebGPU (a software adapter works) on .npy tensors; --check compares with the dense reference")
    .argument("<file>", ".stip file");
  addBindingOptions(command, { lengths: "tensors" })
    .requiredOption("--q <q.npy>", "queries [H, Q, D], float32 or float16")
    .requiredOption("--k <k.npy>", "keys [KVH, K, D]")
    .requiredOption("--v <v.npy>", "values [KVH, K, D]")
    .requiredOption("--out <o.npy>", "where to write the output [H, Q, D] (float32)")
    .option("--lse <lse.npy>", "also write the log-sum-exp [H, Q] (float32; −inf for rows that keep nothing)")
    .option("--check", `also run the Float64 dense reference and report the max abs error (tolerance ${checkTolerance} relative to the output scale)`)
    .addOption(new Option("--adapter <adapter>", "WebGPU adapter: Dawn's Vulkan or OpenGL backend, or the first that works").choices(["auto", "vulkan", "opengl"]).default("auto"))
    .option("--block-m <rows>", "query rows per tile")
    .option("--block-n <keys>", "keys per tile")
    .option("--json", "print the report as JSON")
    .action(async (file: string, options: RunOptions) => {
      const q = npy(options.q, "--q"), k = npy(options.k, "--k"), v = npy(options.v, "--v");
      const [H = 0, Q = 0, D = 0] = q.shape;
      const [KVH = 0, K = 0] = k.shape;
      if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.join() !== k.shape.join() || k.shape[2] !== D) {
        throw new CommandFailed([diagnostic("STP902", `tensor shapes do not fit: q [${q.shape.join(", ")}], k [${k.shape.join(", ")}], v [${v.shape.join(", ")}]`, {
          hint: "q is [H, Q, D]; k and v are [KVH, K, D] with the same D",
        })]);
      }
      if (!wgslCapabilities.headDims.includes(D)) {
        throw new CommandFailed([diagnostic("STP902", `head dim ${D} is not supported by the WGSL backend`, { hint: `use ${wgslCapabilities.headDims.join(", ")}` })]);
      }
      const { binding, layer } = bindFromOptions(file, { ...options, qLen: String(Q), kvLen: String(K), heads: String(H), kvHeads: String(KVH) });
      const launches = lowerAttention(binding, layer, {
        headDim: D, dtype: "f32",
        blockM: integerOption(options.blockM, "--block-m", defaultBlockM),
        blockN: integerOption(options.blockN, "--block-n", defaultBlockN(D)),
      });
      const gpu = await openWebGpu(options.adapter);
      const started = performance.now();
      const result = await runAttention(gpu, launches, { q: q.data, k: k.data, v: v.data }, binding.sizes);
      const milliseconds = performance.now() - started;
      writeFileSync(options.out, writeNpy([H, Q, D], result.out));
      if (options.lse !== undefined) writeFileSync(options.lse, writeNpy([H, Q], result.lse));
      const report: Record<string, unknown> = { pattern: binding.pattern.name, adapter: gpu.description, shape: { H, Q, D, KVH, K }, kernels: launches.length, milliseconds };
      if (options.check === true) {
        const reference = denseAttention({ q: { shape: [H, Q, D], data: q.data }, k: { shape: [KVH, K, D], data: k.data }, v: { shape: [KVH, K, D], data: v.data }, maskOf: (h) => evaluateMask(binding, h, layer) });
        let worst = 0;
        let scale = 1;
        reference.out.forEach((x, at) => {
          worst = Math.max(worst, Math.abs(x - (result.out[at] ?? Number.NaN)));
          scale = Math.max(scale, Math.abs(x));
        });
        const passed = worst <= checkTolerance * scale;
        Object.assign(report, { maxAbsError: worst, tolerance: checkTolerance * scale, check: passed ? "pass" : "FAIL" });
        if (!passed) process.exitCode = 1;
      }
      if (options.json === true) process.stdout.write(JSON.stringify(report) + "\n");
      else {
        process.stdout.write(`ran ${binding.pattern.name} on ${gpu.description}: H ${H}, Q ${Q}, K ${K}, D ${D} in ${milliseconds.toFixed(1)} ms\n`);
        if (report["check"] !== undefined) {
          process.stdout.write(`check against the dense reference: max abs error ${Number(report["maxAbsError"]).toExponential(2)} (tolerance ${Number(report["tolerance"]).toExponential(2)}): ${String(report["check"])}\n`);
        }
      }
    });
}

function npy(path: string, option: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new CommandFailed([diagnostic("STP901", `cannot read ${option} \`${path}\``, { hint: "check the path" })]);
  }
  try {
    return readNpy(bytes);
  } catch (error) {
    throw new CommandFailed([diagnostic("STP306", `${option} \`${path}\`: ${error instanceof Error ? error.message : String(error)}`, { hint: "save with numpy.save(path, array.astype(numpy.float32))" })]);
  }
}
