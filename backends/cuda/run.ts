import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import type { KernelLaunch } from "../../ir/kernel/kernel.js";
import { kernelHash, queryTileCount } from "../../ir/kernel/kernel.js";
import type { Sizes } from "../../ir/pattern/eval-int.js";
import { tileIndexShape, tileIndexWords } from "../../ir/plan/tile-index.js";
import { toHalfWords } from "../../util/half.js";
import { canary, guardWords, unguarded } from "../guard.js";
import { checkTensors, type AttentionResult, type AttentionTensors } from "../tensors.js";
import { compileCuda } from "./compile.js";
import type { CudaContext } from "./device.js";
import type { DevicePointer, Handle, KernelArgument } from "./driver.js";
import { emitCuda } from "./emit.js";
import { builderName, cudaBuilderThreads, emitTileBuilderCuda } from "./tile-builder.js";
import { combineName, cudaCombineThreads, emitSplitCombineCuda } from "./split-combine.js";
import { maxSplits, packFor, splitsFor } from "../split-k.js";
import { assertNever } from "../../util/hash.js";
import { checkCudaKernel, cudaDynamicSharedBytes, cudaThreadsPerBlock } from "./schedule.js";

/**
 * Runs kernel launches on a CUDA device: q, k, v are rounded to the kernels' 16-bit type on the host and
 * uploaded once, every launch (one per group of heads) is compiled and loaded once per device, and the
 * f32 output and lse come back. The layout and argument order are emit.ts's.
 */
export class CudaAttentionBuffers {
  readonly q: DevicePointer;
  readonly k: DevicePointer;
  readonly v: DevicePointer;
  /** The outputs, past their leading canary when guarded. */
  readonly out: DevicePointer;
  readonly lse: DevicePointer;
  readonly outLength: number;
  readonly lseLength: number;
  /** Words of canary before and after each output when guarded (0 otherwise). */
  readonly guardWords: number;
  private readonly owned: DevicePointer[] = [];
  private readonly heads = new Map<string, DevicePointer>();
  private readonly aux = new Map<KernelLaunch, DevicePointer>();
  private readonly tileIndexes = new Map<KernelLaunch, DevicePointer>();
  private readonly partials = new Map<number, { readonly out: DevicePointer; readonly lse: DevicePointer }>();
  private readonly scratches = new Map<string, { readonly pointer: DevicePointer; readonly bytes: number }>();

  constructor(private readonly context: CudaContext, tensors: AttentionTensors, readonly sizes: Sizes, launches: readonly KernelLaunch[], guard = false) {
    const [first] = launches;
    if (first === undefined) throw new Error("no kernel to run");
    const element = checkCudaKernel(first.kernel);
    const D = first.kernel.headDim;
    checkTensors(tensors, sizes, D, element);
    checkDeviceMemory(context, sizes, D, guard ? guardWords : 0);
    this.guardWords = guard ? guardWords : 0;
    this.outLength = sizes.H * sizes.Q * D;
    this.lseLength = sizes.H * sizes.Q;
    try {
      this.q = this.upload(toHalfWords(tensors.q, element));
      this.k = this.upload(toHalfWords(tensors.k, element));
      this.v = this.upload(toHalfWords(tensors.v, element));
      this.out = this.output(this.outLength);
      this.lse = this.output(this.lseLength);
    } catch (error) {
      // Out of memory part way: give back what was allocated before reporting it.
      this.free();
      throw error;
    }
  }

  /** An output: its words, between canary regions when guarded; the pointer is past the leading one. */
  private output(length: number): DevicePointer {
    const words = length + 2 * this.guardWords;
    const base = this.allocate(words * 4);
    if (this.guardWords > 0) this.context.driver.fill32(base, canary, words);
    return base + BigInt(this.guardWords * 4);
  }

  /** Reads an output back (with its canaries checked when guarded). */
  read(pointer: DevicePointer, length: number, name: string): Float32Array {
    const all = new Float32Array(length + 2 * this.guardWords);
    if (all.length > 0) this.context.driver.download(pointer - BigInt(this.guardWords * 4), all);
    return unguarded(all, length, this.guardWords, name);
  }

  headList(list: readonly number[]): DevicePointer {
    const key = list.join(",");
    let pointer = this.heads.get(key);
    if (pointer === undefined) {
      pointer = this.upload(Int32Array.from(list));
      this.heads.set(key, pointer);
    }
    return pointer;
  }

  /** Per-split outputs and lse of a split-K launch ([splits, H, Q, D] and [splits, H, Q]), guarded as the outputs are. */
  partialsFor(splits: number): { readonly out: DevicePointer; readonly lse: DevicePointer } {
    let partials = this.partials.get(splits);
    if (partials === undefined) {
      partials = { out: this.output(splits * this.outLength), lse: this.output(splits * this.lseLength) };
      this.partials.set(splits, partials);
    }
    return partials;
  }

  /** Checks the canaries around every split partial (guarded runs; the outputs are checked as they are read). */
  checkPartials(): void {
    for (const [splits, partials] of this.partials) {
      this.read(partials.out, splits * this.outLength, `out (${splits} split partials)`);
      this.read(partials.lse, splits * this.lseLength, `lse (${splits} split partials)`);
    }
  }

  /** The packed runtime inputs of a dynamic launch (passes/device-inputs.ts), uploaded once. */
  auxFor(launch: KernelLaunch): DevicePointer {
    let pointer = this.aux.get(launch);
    if (pointer === undefined) {
      pointer = this.upload(launch.aux?.words ?? new Uint32Array(1));
      this.aux.set(launch, pointer);
    }
    return pointer;
  }

  /**
   * Device memory for a kernel's working data (an estimator's scores) under `name`, freed with the buffers:
   * kept between dispatches, so estimating again (the next layer, a timing loop) allocates nothing, and
   * regrown when a dispatch needs more.
   */
  scratch(name: string, bytes: number): DevicePointer {
    const size = Math.max(4, bytes);
    const held = this.scratches.get(name);
    if (held !== undefined && held.bytes >= size) return held.pointer;
    if (held !== undefined) {
      this.owned.splice(this.owned.indexOf(held.pointer), 1);
      this.context.driver.free(held.pointer);
    }
    const pointer = this.allocate(size);
    this.scratches.set(name, { pointer, bytes: size });
    return pointer;
  }

  /** The packed inputs of a launch as they are on the device now (after an estimator wrote them). */
  readAux(launch: KernelLaunch): Uint32Array {
    const words = new Uint32Array((launch.aux?.words ?? new Uint32Array(1)).length);
    this.context.driver.download(this.auxFor(launch), words);
    return words;
  }

  /** Where a dynamic launch's builder writes its tile index (ir/plan/tile-index.ts's layout per launch head). */
  tileIndexFor(launch: KernelLaunch): DevicePointer {
    let pointer = this.tileIndexes.get(launch);
    if (pointer === undefined) {
      pointer = this.allocate(4 * launch.heads.length * tileIndexWords(this.sizes, launch.kernel));
      this.tileIndexes.set(launch, pointer);
    }
    return pointer;
  }

  private allocate(bytes: number): DevicePointer {
    const pointer = this.context.driver.alloc(bytes);
    this.owned.push(pointer);
    return pointer;
  }

  private upload(data: ArrayBufferView): DevicePointer {
    const pointer = this.allocate(data.byteLength);
    if (data.byteLength > 0) this.context.driver.upload(pointer, data);
    return pointer;
  }

  free(): void {
    this.scratches.clear();
    for (const pointer of this.owned.splice(0)) this.context.driver.free(pointer);
  }
}

/** The programs of a launch: its attention kernel, for a dynamic sparse kernel its tile-index builder, and the split-K combine. */
type Program = "attention" | "builder" | "combine";

/** The loaded program of a launch: compiled (NVRTC or nvcc) and loaded once per device. */
export function loadedKernel(context: CudaContext, launch: KernelLaunch, program: Program = "attention"): Handle {
  // The combine kernel depends on the head dim only.
  const key = program === "combine" ? `combine/${launch.kernel.headDim}` : `${kernelHash(launch.kernel)}/${program}`;
  const { source, name } = programSource(launch, program);
  return loadedFunction(context, key, name, source, program === "attention" ? cudaDynamicSharedBytes(launch.kernel) : 0);
}

/** Dynamic shared memory a launch may take without raising the kernel's limit. */
const defaultDynamicSharedLimit = 48 * 1024;

/**
 * Kernel `name` of the module `source` prints, compiled and loaded once per device under `key` (one module
 * serves all its kernels); a kernel whose launches take more than 48 KiB of dynamic shared memory gets its
 * limit raised to `dynamicShared`.
 */
export function loadedFunction(context: CudaContext, key: string, name: string, source: () => string, dynamicShared = 0): Handle {
  const at = `${key}/${context.arch}`;
  let module = context.modules.get(at);
  if (module === undefined) {
    module = context.driver.loadModule(compileCuda(source(), context.arch).ptx);
    context.modules.set(at, module);
  }
  let kernel = context.kernels.get(`${at}#${name}`);
  if (kernel === undefined) {
    kernel = context.driver.kernel(module, name);
    if (dynamicShared > defaultDynamicSharedLimit) context.driver.allowDynamicShared(kernel, dynamicShared);
    context.kernels.set(`${at}#${name}`, kernel);
  }
  return kernel;
}

/** A program's kernel name, and its source, printed only when the module is first compiled. */
function programSource(launch: KernelLaunch, program: Program): { source: () => string; name: string } {
  switch (program) {
    case "attention": return { source: () => emitCuda(launch.kernel), name: launch.kernel.name };
    case "builder": return { source: () => emitTileBuilderCuda(launch.kernel), name: builderName(launch.kernel) };
    case "combine": return { source: () => emitSplitCombineCuda(launch.kernel.headDim), name: combineName(launch.kernel.headDim) };
    default: return assertNever(program, "CUDA program");
  }
}

/**
 * Blocks of 128 threads a device runs at once: two per multiprocessor (the kernel's launch bounds), which
 * split-K tries to fill.
 */
const concurrencyOf = (context: CudaContext): number => 2 * context.multiprocessors;

/**
 * What one dispatch enqueues (as the WebGPU backend's DispatchStages): the tile-index builders, the attention
 * kernels (with their split-K combines), or both; how the keys are split and whether GQA heads are packed.
 */
export interface CudaDispatch {
  /** Dynamic sparse launches: run the tile-index builder (default true). */
  readonly build?: boolean;
  /** Run the attention kernels and their combines (default true). */
  readonly attend?: boolean;
  /** "auto" (default) splits the keys only when the query tiles cannot fill the device (../split-k.ts). */
  readonly splits?: "auto" | number;
  /** GQA decode: serve the query heads of one KV head in one block where packFor allows (default true). */
  readonly pack?: boolean;
}

/**
 * Enqueues every launch (no wait), each dynamic sparse one after its tile-index builder and each split one
 * before its combine (same stream, so in order): attention grid (query tiles, splits, heads served), 128
 * threads; builder grid (⌈query tiles · index words / 128⌉, 1, heads served); combine grid (⌈Q / 128⌉, 1,
 * heads served). Argument order is emit.ts's, tile-builder.ts's and split-combine.ts's.
 */
export function dispatchCudaAttention(context: CudaContext, launches: readonly KernelLaunch[], buffers: CudaAttentionBuffers, dispatch: CudaDispatch = {}): void {
  const { Q, K, H, KVH, L } = buffers.sizes;
  const pointer = (value: DevicePointer): KernelArgument => ({ kind: "pointer", value });
  const int = (value: number): KernelArgument => ({ kind: "int", value });
  const splitting = dispatch.splits ?? "auto";
  for (const launch of launches) {
    const lengths = [int(Q), int(K), int(H), int(KVH), int(L), int(launch.layer)];
    const heads = pointer(buffers.headList(launch.heads));
    const dynamic: KernelArgument[] = [];
    if (launch.kernel.inputs.length > 0) dynamic.push(pointer(buffers.auxFor(launch)));
    if (launch.kernel.segments.kind === "tileIndex") {
      const index = pointer(buffers.tileIndexFor(launch));
      const shape = tileIndexShape(buffers.sizes, launch.kernel);
      const blocks = Math.ceil((shape.queryTiles * shape.words) / cudaBuilderThreads);
      if (dispatch.build !== false) context.driver.launch(loadedKernel(context, launch, "builder"), [blocks, 1, launch.heads.length], [cudaBuilderThreads, 1, 1], [heads, pointer(buffers.auxFor(launch)), index, ...lengths]);
      dynamic.push(index);
    }
    if (dispatch.attend === false) continue;
    const pack = dispatch.pack === false ? 1 : packFor(launch.kernel, buffers.sizes, launch.heads);
    const splits = splitting === "auto" ? splitsFor(launch.kernel, buffers.sizes, launch.heads.length, concurrencyOf(context), pack) : Math.min(maxSplits, Math.max(1, Math.floor(splitting)));
    const partials = splits > 1 ? buffers.partialsFor(splits) : undefined;
    context.driver.launch(loadedKernel(context, launch), [queryTileCount(launch.kernel, pack * Q), splits, launch.heads.length / pack], [cudaThreadsPerBlock, 1, 1], [
      pointer(buffers.q), pointer(buffers.k), pointer(buffers.v), pointer(partials?.out ?? buffers.out), pointer(partials?.lse ?? buffers.lse), heads, ...dynamic, ...lengths, int(splits), int(pack),
    ], cudaDynamicSharedBytes(launch.kernel));
    if (partials !== undefined) {
      context.driver.launch(loadedKernel(context, launch, "combine"), [Math.ceil(Q / cudaCombineThreads), 1, launch.heads.length], [cudaCombineThreads, 1, 1], [
        pointer(partials.out), pointer(partials.lse), pointer(buffers.out), pointer(buffers.lse), heads, int(Q), int(H), int(splits),
      ]);
    }
  }
}

/** A whole run: every stage, split and packed as `CudaDispatch` says. */
export interface CudaRunOptions extends Pick<CudaDispatch, "splits" | "pack"> {
  /** Bounds guard (a test mode): outputs between canaries, checked after the kernel (see ../guard.ts). */
  readonly guard?: boolean;
}

/** Uploads, runs, waits and reads back: the whole attention in one call. */
export function runCudaAttention(context: CudaContext, launches: readonly KernelLaunch[], tensors: AttentionTensors, sizes: Sizes, options: CudaRunOptions = {}): AttentionResult {
  const buffers = new CudaAttentionBuffers(context, tensors, sizes, launches, options.guard === true);
  try {
    dispatchCudaAttention(context, launches, buffers, options);
    context.driver.synchronize();
    buffers.checkPartials();
    return { out: buffers.read(buffers.out, buffers.outLength, "out"), lse: buffers.read(buffers.lse, buffers.lseLength, "lse") };
  } finally {
    buffers.free();
  }
}

/** Milliseconds per run of the launches, from device events around `reps` back-to-back runs (after one warm-up). */
export function timeCudaAttention(context: CudaContext, launches: readonly KernelLaunch[], buffers: CudaAttentionBuffers, reps: number, dispatch: CudaDispatch = {}): number {
  return timeCudaWork(context, () => dispatchCudaAttention(context, launches, buffers, dispatch), reps);
}

/**
 * Milliseconds per call of `enqueue` (which only enqueues device work), from device events around `reps`
 * back-to-back calls after one warm-up: the device's time, not the host's.
 */
export function timeCudaWork(context: CudaContext, enqueue: () => void, reps: number): number {
  const { driver } = context;
  enqueue();
  const start = driver.createEvent(), end = driver.createEvent();
  try {
    driver.record(start);
    for (let rep = 0; rep < reps; rep++) enqueue();
    driver.record(end);
    return driver.elapsed(start, end) / reps;
  } finally {
    driver.destroyEvent(start);
    driver.destroyEvent(end);
  }
}

/**
 * Refuses (STP317) a launch whose buffers do not fit in the device's free memory, before anything is
 * allocated: q, k, v as 16-bit elements, out and lse as f32 (with their canaries when guarded).
 */
function checkDeviceMemory(context: CudaContext, sizes: Sizes, headDim: number, guard: number): void {
  const needed = 2 * headDim * (sizes.H * sizes.Q + 2 * sizes.KVH * sizes.K) + 4 * (sizes.H * sizes.Q * (headDim + 1) + 4 * guard);
  const { free, total } = context.driver.memoryInfo();
  if (needed <= free) return;
  const gib = (n: number): string => `${(n / 2 ** 30).toFixed(2)} GiB`;
  throw new DiagnosticError([diagnostic("STP317", `this launch needs ${gib(needed)} of device memory; ${context.name} has ${gib(free)} free of ${gib(total)} (Q = ${sizes.Q}, K = ${sizes.K}, H = ${sizes.H})`, {
    hint: "run fewer heads or a shorter sequence per launch (split the batch), or free device memory",
  })]);
}
