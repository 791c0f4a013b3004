import { readFileSync, writeFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { openCuda } from "../../backends/cuda/device.js";
import { checkCudaEstimator, runCudaEstimatedAttention } from "../../backends/cuda/estimate-run.js";
import { runCudaAttention } from "../../backends/cuda/run.js";
import { checkCudaKernel, cudaCapabilities, cudaLowering, cudaTile, type CudaElement } from "../../backends/cuda/schedule.js";
import type { AttentionResult } from "../../backends/tensors.js";
import { openWebGpu, type AdapterChoice } from "../../backends/wgsl/device.js";
import { runAttention } from "../../backends/wgsl/run.js";
import { defaultBlockM, defaultBlockN, wgslCapabilities } from "../../backends/wgsl/schedule.js";
import { unsupportedHeadDim } from "../../backends/head-dims.js";
import { diagnostic } from "../../diagnostics/diagnostic.js";
import type { Dtype, KernelLaunch } from "../../ir/kernel/kernel.js";
import { evaluateMask } from "../../ir/mask/evaluate.js";
import type { Binding } from "../../ir/pattern/binding.js";
import { denseAttention } from "../../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../../ir/reference/tolerance.js";
import { lowerAttention } from "../../passes/lower.js";
import { withInputs } from "../../compiler/bind.js";
import { causalShare } from "../../ir/plan/stats.js";
import { runEstimatedAttention } from "../../backends/wgsl/estimate/attend.js";
import { maxSplits } from "../../backends/split-k.js";
import { estimatorOf } from "../../ir/estimate/catalog.js";
import { printEstimator, type Estimator } from "../../ir/estimate/estimator.js";
import { roundedTo } from "../../util/half.js";
import { readNpy, writeNpy, type NpyArray } from "../../util/npy.js";
import { addBindingOptions, bindFromOptions, type BindingOptions } from "../binding-options.js";
import { CommandFailed, integerOption, report as reportLine } from "../io.js";

interface RunOptions extends BindingOptions {
  readonly q: string;
  readonly k: string;
  readonly v: string;
  readonly out: string;
  readonly lse?: string;
  readonly check?: boolean;
  readonly adapter: AdapterChoice;
  readonly backend: "wgsl" | "cuda";
  readonly dtype?: "f32" | CudaElement;
  readonly device?: string;
  readonly blockM?: string;
  readonly blockN?: string;
  readonly json?: boolean;
  readonly saveEstimate?: string;
  readonly splits?: string;
}

export function registerRun(program: Command): void {
  const command = program
    .command("run")
    .description("run the pattern's attention kernel on WebGPU (a software adapter works) or CUDA on .npy tensors; --check compares with the dense reference")
    .argument("<file>", ".stip file")
    .addHelpText("after", "\nExamples:\n  stipple run examples/a_shape.stip --param sink=64 --param window=512 --q q.npy --k k.npy --v v.npy --out o.npy --check\n  stipple run examples/vertical_slash.stip --estimate --save-estimate chosen.json --q q.npy --k k.npy --v v.npy --out o.npy\n  (q.npy [H, Q, D], k.npy and v.npy [KVH, K, D], float32 or float16)");
  addBindingOptions(command, { lengths: "tensors" })
    .requiredOption("--q <q.npy>", "queries [H, Q, D], float32 or float16")
    .requiredOption("--k <k.npy>", "keys [KVH, K, D]")
    .requiredOption("--v <v.npy>", "values [KVH, K, D]")
    .requiredOption("--out <o.npy>", "where to write the output [H, Q, D] (float32)")
    .option("--lse <lse.npy>", "also write the log-sum-exp [H, Q] (float32; −inf for rows that keep nothing)")
    .option("--check", `also run the Float64 dense reference and report the max abs error (tolerance relative to the output scale: ${outputTolerance.f32} for wgsl, ${outputTolerance.f16} for f16 and ${outputTolerance.bf16} for bf16 on cuda)`)
    .addOption(new Option("--backend <backend>", "where to run: WebGPU (any adapter, no GPU needed) or an NVIDIA GPU through the CUDA driver").choices(["wgsl", "cuda"]).default("wgsl"))
    .addOption(new Option("--adapter <adapter>", "WebGPU adapter: Dawn's Vulkan or OpenGL backend, or the first that works").choices(["auto", "vulkan", "opengl"]).default("auto"))
    .addOption(new Option("--dtype <dtype>", "the type q, k, v are stored in on the device: wgsl f32 (default) or f16; cuda f16 (default) or bf16 (tensor cores)").choices(["f32", "f16", "bf16"]))
    .option("--device <n>", "cuda: the device ordinal (default 0)")
    .option("--block-m <rows>", "wgsl: query rows per tile")
    .option("--block-n <keys>", "wgsl: keys per tile")
    .option("--splits <n|auto>", "deal each query tile's key tiles to this many workgroups (blocks on CUDA), merged by their lse (split-K, flash-decoding); auto splits when the query tiles alone cannot fill the device, as in decode", "auto")
    .option("--estimate", "choose the runtime inputs on the device with the estimator the pattern names (its `estimate` clause), then build and attend")
    .option("--save-estimate <file.json>", "with --estimate: write the chosen inputs as { name: value } (the shapes --input takes)")
    .option("--json", "print the report as JSON")
    .action(async (file: string, options: RunOptions) => {
      const q = npy(options.q, "--q"), k = npy(options.k, "--k"), v = npy(options.v, "--v");
      const [H = 0, Q = 0, D = 0] = q.shape;
      const [KVH = 0, K = 0] = k.shape;
      const empty = [q, k].flatMap((tensor) => tensor.shape).includes(0);
      if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.join() !== k.shape.join() || k.shape[2] !== D || empty) {
        throw new CommandFailed([diagnostic("STP902", `tensor shapes do not fit: q [${q.shape.join(", ")}], k [${k.shape.join(", ")}], v [${v.shape.join(", ")}]`, {
          hint: empty ? "every axis needs at least one entry: a pattern attends at least one query to at least one key" : "q is [H, Q, D]; k and v are [KVH, K, D] with the same D",
        })]);
      }
      const capabilities = options.backend === "cuda" ? cudaCapabilities : wgslCapabilities;
      const unsupported = unsupportedHeadDim(capabilities.headDims, D, options.backend === "cuda" ? "CUDA" : "WGSL", "STP902");
      if (unsupported !== undefined) throw new CommandFailed([unsupported]);
      if (options.backend === "wgsl" && options.dtype === "bf16") {
        throw new CommandFailed([diagnostic("STP902", "the WGSL backend stores q, k, v as f32 or f16", { hint: "use --dtype f16, or --backend cuda for bf16" })]);
      }
      if (options.backend === "cuda" && options.dtype === "f32") {
        throw new CommandFailed([diagnostic("STP902", "the CUDA kernel runs on tensor cores: q, k, v are f16 or bf16", { hint: "use --dtype f16 or bf16 (f32 .npy input is rounded on the host)" })]);
      }
      const { binding, layer } = bindFromOptions(file, { ...options, qLen: String(Q), kvLen: String(K), heads: String(H), kvHeads: String(KVH) });
      const tensors = { q: q.data, k: k.data, v: v.data };
      if (options.saveEstimate !== undefined && options.estimate !== true) {
        throw new CommandFailed([diagnostic("STP902", "--save-estimate writes what --estimate chose", { hint: "add --estimate" })]);
      }
      const run = options.backend === "cuda" ? runOnCuda(binding, layer, D, options) : await runOnWebGpu(binding, layer, D, options);
      const started = performance.now();
      const result = await run.execute(tensors);
      const milliseconds = performance.now() - started;
      writeFileSync(options.out, writeNpy([H, Q, D], result.out));
      if (options.lse !== undefined) writeFileSync(options.lse, writeNpy([H, Q], result.lse));
      const report: Record<string, unknown> = { pattern: binding.pattern.name, backend: options.backend, adapter: run.description, dtype: run.dtype, shape: { H, Q, D, KVH, K }, kernels: run.launches.length, milliseconds };
      if (result.inputs !== undefined) {
        report["estimator"] = run.estimator === undefined ? null : printEstimator(run.estimator);
        if (options.saveEstimate !== undefined) writeFileSync(options.saveEstimate, JSON.stringify(result.inputs) + "\n");
      }
      if (options.check === true) {
        // With --estimate, what the kernel attended on is the estimator's choice: the check masks by it, and
        // reports its exact density (both need the whole mask on the host, so only here).
        const attended = result.inputs === undefined ? binding : rebind(binding, result.inputs);
        if (result.inputs !== undefined) report["density"] = causalShare(attended, layer);
        // The reference sees what the kernel sees: inputs rounded to its element type.
        const seen = (data: Float32Array): Float32Array => (run.dtype === "f32" ? data : roundedTo(data, run.dtype));
        const reference = denseAttention({ q: { shape: [H, Q, D], data: seen(q.data) }, k: { shape: [KVH, K, D], data: seen(k.data) }, v: { shape: [KVH, K, D], data: seen(v.data) }, maskOf: (h) => evaluateMask(attended, h, layer) });
        const { maxAbsError, scale } = compareOutputs(reference.out, result.out);
        // The WGSL kernel does f32 math whatever it stores; the CUDA kernel rounds P to its element type.
        const tolerance = outputTolerance[options.backend === "wgsl" ? "f32" : run.dtype] * scale;
        const passed = maxAbsError <= tolerance;
        Object.assign(report, { maxAbsError, tolerance, check: passed ? "pass" : "FAIL" });
        if (!passed) process.exitCode = 1;
      }
      if (options.json === true) process.stdout.write(JSON.stringify(report) + "\n");
      else {
        reportLine(`ran ${binding.pattern.name} on ${run.description} (${run.dtype}): H ${H}, Q ${Q}, K ${K}, D ${D} in ${milliseconds.toFixed(1)} ms\n`);
        if (report["estimator"] !== undefined) {
          const density = report["density"] === undefined ? "" : `; ${(100 * Number(report["density"])).toFixed(2)} % of causal pairs kept`;
          reportLine(`estimated on the device: ${String(report["estimator"])}${density}\n`);
        }
        if (report["check"] !== undefined) {
          reportLine(`check against the dense reference: max abs error ${Number(report["maxAbsError"]).toExponential(2)} (tolerance ${Number(report["tolerance"]).toExponential(2)}): ${String(report["check"])}\n`);
        }
      }
    });
}

/** A backend ready to run one bound pattern: its kernels, where they run, and what they compute in. */
interface PreparedRun {
  readonly launches: readonly KernelLaunch[];
  readonly description: string;
  readonly dtype: Dtype;
  /** The estimator that chooses the runtime inputs (with --estimate). */
  readonly estimator?: Estimator;
  /** The output, and with an estimator the inputs it chose. */
  execute(tensors: { q: Float32Array; k: Float32Array; v: Float32Array }): Promise<AttentionResult & { inputs?: Record<string, unknown> }>;
}

async function runOnWebGpu(binding: Binding, layer: number, headDim: number, options: RunOptions): Promise<PreparedRun> {
  const dtype = options.dtype === "f16" ? "f16" : "f32";
  const launches = lowerAttention(binding, layer, {
    headDim, dtype,
    blockM: integerOption(options.blockM, "--block-m", defaultBlockM),
    blockN: integerOption(options.blockN, "--block-n", defaultBlockN(headDim)),
  });
  const splits = splitsOption(options);
  // The estimator's settings are checked against the bound values before an adapter is opened.
  const estimator = options.estimate === true ? estimatorOf(binding) : undefined;
  const gpu = await openWebGpu(options.adapter);
  if (estimator !== undefined) {
    return { launches, description: gpu.description, dtype, estimator, execute: (tensors) => runEstimatedAttention(gpu, estimator, launches, tensors, binding.sizes, { splits }) };
  }
  return { launches, description: gpu.description, dtype, execute: (tensors) => runAttention(gpu, launches, tensors, binding.sizes, { splits }) };
}

/** --splits: auto, or a count within 1…maxSplits. */
function splitsOption(options: RunOptions): "auto" | number {
  const splits = options.splits === undefined || options.splits === "auto" ? "auto" : integerOption(options.splits, "--splits", 1);
  if (splits !== "auto" && (splits < 1 || splits > maxSplits)) {
    throw new CommandFailed([diagnostic("STP902", `--splits ${splits} is outside 1…${maxSplits}`, { hint: "use auto, or a count of splits up to " + String(maxSplits) })]);
  }
  return splits;
}

/** The binding with the inputs an estimator chose in place of the empty ones (they always bind: a bug otherwise). */
function rebind(binding: Binding, inputs: Record<string, unknown>): Binding {
  const bound = withInputs(binding, inputs);
  if (!bound.ok) throw new Error(`the estimator chose inputs that do not bind: ${bound.diagnostics.map((d) => d.message).join("; ")}`);
  return bound.value;
}

function runOnCuda(binding: Binding, layer: number, headDim: number, options: RunOptions): PreparedRun {
  if (options.blockM !== undefined || options.blockN !== undefined) {
    throw new CommandFailed([diagnostic("STP902", `the CUDA kernel's tiles are fixed at ${cudaTile.blockM} × ${cudaTile.blockN}`, { hint: "leave --block-m and --block-n out with --backend cuda" })]);
  }
  const dtype = options.dtype === "bf16" ? "bf16" : "f16";
  const launches = lowerAttention(binding, layer, { headDim, dtype, ...cudaLowering });
  for (const { kernel } of launches) checkCudaKernel(kernel);
  const splits = splitsOption(options);
  // The estimator's settings are checked against the bound values, and against what CUDA's estimators take, before the device is opened.
  const estimator = options.estimate === true ? estimatorOf(binding) : undefined;
  if (estimator !== undefined) checkCudaEstimator(estimator, headDim);
  const gpu = openCuda(integerOption(options.device, "--device", 0));
  if (estimator !== undefined) {
    return { launches, description: gpu.description, dtype, estimator, execute: (tensors) => Promise.resolve(runCudaEstimatedAttention(gpu, estimator, launches, tensors, binding.sizes, { splits })) };
  }
  return { launches, description: gpu.description, dtype, execute: (tensors) => Promise.resolve(runCudaAttention(gpu, launches, tensors, binding.sizes, { splits })) };
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
