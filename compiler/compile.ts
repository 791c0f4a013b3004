import type { CudaContext } from "../backends/cuda/device.js";
import { emitCuda } from "../backends/cuda/emit.js";
import { runCudaEstimatedAttention } from "../backends/cuda/estimate-run.js";
import { runCudaAttention } from "../backends/cuda/run.js";
import { cudaCapabilities, cudaTile } from "../backends/cuda/schedule.js";
import { unsupportedHeadDim } from "../backends/head-dims.js";
import type { AttentionResult } from "../backends/tensors.js";
import type { WebGpuContext } from "../backends/wgsl/device.js";
import { emitWgsl } from "../backends/wgsl/emit.js";
import { runAttention } from "../backends/wgsl/run.js";
import { runEstimatedAttention } from "../backends/wgsl/estimate/attend.js";
import { estimatorOf } from "../ir/estimate/catalog.js";
import { defaultBlockM, defaultBlockN, wgslCapabilities } from "../backends/wgsl/schedule.js";
import { diagnostic, DiagnosticError, failed, hasErrors, ok, type Result } from "../diagnostics/diagnostic.js";
import type { Dtype, KernelLaunch } from "../ir/kernel/kernel.js";
import type { Binding } from "../ir/pattern/binding.js";
import type { PatternDef } from "../ir/pattern/pattern.js";
import type { BlockPlan, Schedule } from "../ir/plan/plan.js";
import { lowerAttention } from "../passes/lower.js";
import { planPattern } from "../passes/plan.js";
import { bindPattern, estimatedInputs, type LaunchShape } from "./bind.js";
import { bindParams } from "./bind-params.js";
import { memoryHost, type SourceHost } from "./load.js";
import { nodeHost } from "./node-host.js";
import { compileProgram, selectPattern } from "./program.js";

/** What a kernel author passes to `compile`. Parameters are compiled in; lengths and inputs come per run. */
export interface CompileOptions {
  readonly pattern?: string;
  readonly params?: Readonly<Record<string, number>>;
  /** wgsl (default): f32 or f16 tensors, any WebGPU device. cuda: f16 or bf16 on NVIDIA tensor cores (64 × 64 tiles). */
  readonly target?: "wgsl" | "cuda";
  readonly headDim: number;
  /** Default f32 for wgsl, f16 for cuda. */
  readonly dtype?: Dtype;
  readonly schedule?: Schedule;
  readonly layer?: number;
  /** Host for imports when `source` is text (default: none) or the file system's when given a file. */
  readonly host?: SourceHost;
}

export interface AttentionShape extends LaunchShape {
  readonly inputs?: Readonly<Record<string, unknown>>;
}

export interface CompiledPattern {
  readonly pattern: PatternDef;
  readonly schedule: Schedule;
  /** The kernel source for a single-head launch shape (the text `stipple emit` prints). */
  readonly source: string;
  /** The block plan of one head for a shape. */
  plan(shape: AttentionShape, head?: number): Result<BlockPlan>;
  /** The kernels of a launch (one per group of heads whose pattern is the same), ready to dispatch. */
  launches(shape: AttentionShape): Result<KernelLaunch[]>;
  /**
   * Runs attention on the target's device (`openWebGpu()` for wgsl, `openCuda()` for cuda): q [H, Q, D], k and
   * v [KVH, K, D] as Float32Arrays (rounded to f16/bf16 on the host for cuda); a bad shape or input throws
   * DiagnosticError.
   */
  run(device: WebGpuContext | CudaContext, tensors: { q: Float32Array; k: Float32Array; v: Float32Array }, shape: AttentionShape, options?: RunRequest): Promise<AttentionResult & { readonly inputs?: Record<string, unknown> }>;
}

export interface RunRequest {
  /**
   * Let the pattern's estimator (its `estimate` clause) choose the inputs it names, on the device, before the
   * index builder and the kernel run: estimate → build → attend in one call. The chosen inputs come back in
   * `inputs` (the shapes `shape.inputs` takes). WebGPU only for now.
   */
  readonly estimate?: boolean;
}

/**
 * The library's one-call entry: `.stip` text (or `{ file }`) and options → a compiled pattern whose
 * `.source`, `.plan()` and `.run()` a kernel author uses directly. Errors come back as diagnostics.
 */
export function compile(source: string | { readonly file: string }, options: CompileOptions): Result<CompiledPattern> {
  const path = typeof source === "string" ? "<source>.stip" : source.file;
  const host = options.host ?? (typeof source === "string" ? memoryHost({ [path]: source }) : nodeHost);
  const program = compileProgram([path], typeof source === "string" ? withEntry(host, path, source) : host);
  if (hasErrors(program.diagnostics)) return failed(program.diagnostics);
  const pattern = selectPattern(program, path, options.pattern);
  if ("code" in pattern) return failed([pattern]);
  // Parameters are compiled in: a wrong one is an error now, not at the first run.
  const checkedParams = bindParams(pattern, new Map(Object.entries(options.params ?? {})));
  if (checkedParams.diagnostics.length > 0) return failed(checkedParams.diagnostics);
  const target = options.target ?? "wgsl";
  // Before anything is lowered for it: a head dim the target cannot take (0, 72 on CUDA) is a diagnostic.
  const unsupported = target === "cuda"
    ? unsupportedHeadDim(cudaCapabilities.headDims, options.headDim, "CUDA", "STP501")
    : unsupportedHeadDim(wgslCapabilities.headDims, options.headDim, "WGSL", "STP902");
  if (unsupported !== undefined) return failed([unsupported]);
  const schedule = options.schedule ?? (target === "cuda" ? cudaTile : { blockM: defaultBlockM, blockN: defaultBlockN(options.headDim) });
  const dtype = options.dtype ?? (target === "cuda" ? "f16" : "f32");
  const layer = options.layer ?? 0;
  const bind = (shape: AttentionShape, estimated: ReadonlySet<string> = new Set()): Result<Binding> =>
    bindPattern(pattern, { params: new Map(Object.entries(options.params ?? {})), shape, inputs: new Map(Object.entries(shape.inputs ?? {})), estimated });
  const lower = (bound: Binding): KernelLaunch[] => lowerAttention(bound, layer, { headDim: options.headDim, dtype, ...schedule });
  const launches = (shape: AttentionShape): Result<KernelLaunch[]> => {
    const bound = bind(shape);
    return bound.ok ? ok(lower(bound.value)) : failed(bound.diagnostics);
  };
  const nominal = launches({ qLen: 1, kvLen: 1, inputs: placeholderInputs(pattern) });
  const [first] = nominal.ok ? nominal.value : [];
  // The target's capability checks (head dim, tensor type, tiles, runtime inputs) run as it prints: what it
  // cannot do comes back as diagnostics, like every other error of compile().
  let printed = "";
  try {
    if (first !== undefined) printed = target === "cuda" ? emitCuda(first.kernel) : emitWgsl(first.kernel);
  } catch (error) {
    if (error instanceof DiagnosticError) return failed(error.diagnostics);
    throw error;
  }
  const compiled: CompiledPattern = {
    pattern,
    schedule,
    source: printed,
    plan: (shape, head = 0) => {
      const bound = bind(shape);
      return bound.ok ? ok(planPattern(bound.value, { head, layer }, schedule).plan) : failed(bound.diagnostics);
    },
    launches,
    run: async (device, tensors, shape, request = {}) => {
      if (device.backend !== (target === "cuda" ? "cuda" : "webgpu")) {
        throw new DiagnosticError([diagnostic("STP902", `this pattern was compiled for ${target}, but run on a ${device.backend} device`, { hint: target === "cuda" ? "pass openCuda()" : "pass openWebGpu(), or compile with target: \"cuda\"" })]);
      }
      const estimated = request.estimate === true ? estimatedInputs(pattern) : new Set<string>();
      if (!(estimated instanceof Set)) throw new DiagnosticError([estimated]);
      const bound = bind(shape, estimated);
      if (!bound.ok) throw new DiagnosticError(bound.diagnostics);
      const planned = lower(bound.value);
      const estimator = estimated.size > 0 ? estimatorOf(bound.value) : undefined;
      if (device.backend === "cuda") {
        return estimator === undefined ? runCudaAttention(device, planned, tensors, bound.value.sizes) : runCudaEstimatedAttention(device, estimator, planned, tensors, bound.value.sizes);
      }
      return estimator === undefined ? runAttention(device, planned, tensors, bound.value.sizes) : runEstimatedAttention(device, estimator, planned, tensors, bound.value.sizes);
    },
  };
  return ok(compiled, program.diagnostics);
}

function withEntry(host: SourceHost, path: string, text: string): SourceHost {
  return { read: (p) => (p === path ? text : host.read(p)), resolve: host.resolve };
}

/** Inputs of the right shape for a 1 × 1, one-head, one-layer launch: enough to print the kernel. */
function placeholderInputs(pattern: PatternDef): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const { ref } of pattern.inputs) {
    const leaf = ref.kind === "index" ? [0] : ref.kind === "blocks" ? [[1]] : ref.kind === "bool" ? 1 : [0];
    inputs[ref.name] = ref.kind === "ids" ? [0] : ref.dims.reduce<unknown>((inner) => [inner], leaf);
  }
  return inputs;
}
