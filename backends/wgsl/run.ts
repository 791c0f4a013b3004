import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import type { AttentionKernel, KernelLaunch } from "../../ir/kernel/kernel.js";
import { kernelHash, queryTileCount } from "../../ir/kernel/kernel.js";
import type { Sizes } from "../../ir/pattern/eval-int.js";
import { tileIndexShape, tileIndexWords } from "../../ir/plan/tile-index.js";
import { unpackDeviceInputs } from "../../ir/kernel/unpack-inputs.js";
import { toHalfWords } from "../../util/half.js";
import { canary, guardWords, unguarded } from "../guard.js";
import { checkTensors, type AttentionResult, type AttentionTensors } from "../tensors.js";
import type { WebGpuContext } from "./device.js";
import { emitWgsl, usesAux, workgroupStorageBytes } from "./emit.js";
import { checkWgslKernel } from "./schedule.js";
import { maxSplits, packFor, splitsFor } from "../split-k.js";
import { combineWorkgroupSize, emitSplitCombineWgsl } from "./split-combine.js";
import { builderGridWidth, builderWorkgroupSize, emitTileBuilderWgsl } from "./tile-builder.js";
import { settle } from "./settle.js";

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** The programs of a kernel: its attention kernel, for dynamic patterns its tile-index builder, and the split-K combine. */
type Program = "attention" | "builder" | "combine";

/** Compiles (or reuses, keyed by the kernel's structural hash) a pipeline of one kernel. */
export function pipelineFor(context: WebGpuContext, kernel: AttentionKernel, program: Program = "attention"): GPUComputePipeline {
  let cache = pipelines.get(context.device);
  if (cache === undefined) {
    cache = new Map();
    pipelines.set(context.device, cache);
  }
  const key = `${kernelHash(kernel)} ${program}`;
  let pipeline = cache.get(key);
  if (pipeline === undefined) {
    const code = program === "attention" ? emitWgsl(kernel) : program === "builder" ? emitTileBuilderWgsl(kernel) : emitSplitCombineWgsl(kernel.headDim);
    const label = `${kernel.name} ${program}`;
    const module = context.device.createShaderModule({ code, label });
    pipeline = context.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" }, label });
    cache.set(key, pipeline);
  }
  return pipeline;
}

/** Device buffers of one attention problem, reusable across runs (benchmarks time only the dispatches). */
export class AttentionBuffers {
  readonly q: GPUBuffer;
  readonly k: GPUBuffer;
  readonly v: GPUBuffer;
  readonly out: GPUBuffer;
  readonly lse: GPUBuffer;
  readonly outLength: number;
  readonly lseLength: number;
  private readonly heads = new Map<string, GPUBuffer>();
  private readonly lengths = new Map<string, GPUBuffer>();
  private readonly partials = new Map<number, { out: GPUBuffer; lse: GPUBuffer }>();
  private readonly aux = new WeakMap<KernelLaunch, GPUBuffer>();
  private readonly tileIndexes = new WeakMap<KernelLaunch, GPUBuffer>();
  private readonly owned: GPUBuffer[] = [];

  /** Words of canary before and after each buffer a kernel writes, when guarded (0 otherwise). */
  readonly guardWords: number;
  /** Every buffer a kernel writes (outputs, split-K partials, tile indexes, estimated inputs) and its length in words. */
  private readonly writable = new Map<GPUBuffer, { readonly words: number; readonly name: string }>();

  /** `kernel`: any of the launches' kernels (they share the head dim and tensor type). */
  constructor(private readonly context: WebGpuContext, tensors: AttentionTensors, readonly sizes: Sizes, kernel: Pick<AttentionKernel, "headDim" | "dtype">, guard = false) {
    const { headDim } = kernel;
    checkWgslKernel(kernel);
    checkTensors(tensors, sizes, headDim, kernel.dtype);
    const stored = (data: Float32Array): Float32Array | Uint32Array => (kernel.dtype === "f16" ? packHalves(data) : data);
    this.q = this.upload(stored(tensors.q), GPUBufferUsage.STORAGE);
    this.k = this.upload(stored(tensors.k), GPUBufferUsage.STORAGE);
    this.v = this.upload(stored(tensors.v), GPUBufferUsage.STORAGE);
    this.outLength = sizes.H * sizes.Q * headDim;
    this.lseLength = sizes.H * sizes.Q;
    this.guardWords = guard ? guardWords : 0;
    this.out = this.writableBuffer(this.outLength, "out");
    this.lse = this.writableBuffer(this.lseLength, "lse");
  }

  /**
   * A buffer kernels write: `words` long (at least 1), between canary regions when guarded (filled at
   * creation, checked by checkCanaries), holding `initial` if given. Bind it with bindingOf.
   */
  private writableBuffer(words: number, name: string, initial?: Uint32Array): GPUBuffer {
    const length = Math.max(1, words);
    const buffer = this.context.device.createBuffer({
      size: Math.max(16, (length + 2 * this.guardWords) * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      mappedAtCreation: this.guardWords > 0 || initial !== undefined,
    });
    if (this.guardWords > 0 || initial !== undefined) {
      const mapped = new Uint32Array(buffer.getMappedRange());
      if (this.guardWords > 0) mapped.fill(canary);
      if (initial !== undefined) mapped.set(initial.subarray(0, length), this.guardWords);
      if (initial !== undefined && initial.length < length) mapped.fill(0, this.guardWords + initial.length, this.guardWords + length);
      buffer.unmap();
    }
    this.writable.set(buffer, { words: length, name });
    if (buffer !== this.out && buffer !== this.lse) this.owned.push(buffer);
    return buffer;
  }

  /** How a kernel binds a buffer: a written one past its leading canary, exactly its own length; others whole. */
  bindingOf(buffer: GPUBuffer): GPUBufferBinding {
    const written = this.writable.get(buffer);
    return written === undefined ? { buffer } : { buffer, offset: this.guardWords * 4, size: written.words * 4 };
  }

  /** The words of a written buffer, read back; throws naming the buffer if a canary around it changed. */
  async readWords(buffer: GPUBuffer): Promise<Uint32Array> {
    const written = this.writable.get(buffer);
    if (written === undefined) throw new Error("readWords: not a buffer kernels write");
    const all = new Uint32Array((await readBack(this.context, buffer, written.words + 2 * this.guardWords)).buffer);
    return new Uint32Array(unguarded(new Float32Array(all.buffer), written.words, this.guardWords, written.name).buffer);
  }

  /** Checks the canaries around every written buffer (guarded runs only); throws naming the first damaged one. */
  async checkCanaries(): Promise<void> {
    if (this.guardWords === 0) return;
    for (const buffer of this.writable.keys()) await this.readWords(buffer);
  }

  /** The uniform lengths of a launch for one layer, split `splits` ways along the keys, `pack` heads a workgroup. */
  lengthsFor(layer: number, splits = 1, pack = 1): GPUBuffer {
    const key = `${layer} ${splits} ${pack}`;
    let buffer = this.lengths.get(key);
    if (buffer === undefined) {
      const { Q, K, H, KVH, L } = this.sizes;
      buffer = this.upload(Int32Array.from([Q, K, H, KVH, L, layer, splits, pack]), GPUBufferUsage.UNIFORM);
      this.lengths.set(key, buffer);
    }
    return buffer;
  }

  /** Per-split outputs and lse of a split-K launch ([splits, H, Q, D] and [splits, H, Q]), merged by the combine kernel. */
  partialsFor(splits: number): { out: GPUBuffer; lse: GPUBuffer } {
    let partials = this.partials.get(splits);
    if (partials === undefined) {
      partials = { out: this.writableBuffer(splits * this.outLength, `out (${splits} split partials)`), lse: this.writableBuffer(splits * this.lseLength, `lse (${splits} split partials)`) };
      this.partials.set(splits, partials);
    }
    return partials;
  }

  /** Where a dynamic launch's builder writes its tile index: ir/plan/tile-index.ts's layout per launch head. */
  tileIndexFor(launch: KernelLaunch): GPUBuffer {
    let buffer = this.tileIndexes.get(launch);
    if (buffer === undefined) {
      buffer = this.writableBuffer(launch.heads.length * tileIndexWords(this.sizes, launch.kernel), `tile index of ${launch.kernel.name}`);
      this.tileIndexes.set(launch, buffer);
    }
    return buffer;
  }

  /** The packed runtime inputs of a launch (written on the device when an estimator chooses them). */
  auxFor(launch: KernelLaunch): GPUBuffer {
    let buffer = this.aux.get(launch);
    if (buffer === undefined) {
      const words = launch.aux?.words ?? new Uint32Array(1);
      buffer = this.writableBuffer(words.length, `runtime inputs of ${launch.kernel.name}`, words);
      this.aux.set(launch, buffer);
    }
    return buffer;
  }

  headList(list: readonly number[]): GPUBuffer {
    const key = list.join(",");
    let buffer = this.heads.get(key);
    if (buffer === undefined) {
      buffer = this.upload(Uint32Array.from(list), GPUBufferUsage.STORAGE);
      this.heads.set(key, buffer);
    }
    return buffer;
  }

  private upload(data: Float32Array | Uint32Array | Int32Array, usage: number): GPUBuffer {
    const buffer = this.context.device.createBuffer({ size: Math.max(16, data.byteLength), usage: usage | GPUBufferUsage.COPY_DST });
    this.context.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    this.owned.push(buffer);
    return buffer;
  }

  destroy(): void {
    for (const b of [this.out, this.lse, ...this.owned]) b.destroy();
  }
}

/**
 * Which programs a dispatch records: the tile-index builders, the attention kernels, or both (benchmarks
 * time them apart); and how many ways the attention kernels split the keys: "auto" (splitsFor: split-K only
 * when the query tiles alone cannot fill the device, as in decode) or a count.
 */
export interface DispatchStages {
  readonly build: boolean;
  readonly attend: boolean;
  readonly splits?: "auto" | number;
  /** GQA decode: serve the query heads of one KV head in one workgroup where packFor allows (default true). */
  readonly pack?: boolean;
}

/** Records the dispatches of all kernels (one per head group), each dynamic one after its builder, and waits for the queue. */
export async function dispatchAttention(context: WebGpuContext, launches: readonly KernelLaunch[], buffers: AttentionBuffers, stages: DispatchStages = { build: true, attend: true }): Promise<void> {
  checkWorkgroupStorage(context, launches);
  const encoder = context.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const launch of launches) {
    const { kernel, heads } = launch;
    const pack = stages.pack === false ? 1 : packFor(kernel, buffers.sizes, heads);
    // A forced count is held to 1…maxSplits: any count computes the same result, but grid and scratch grow with it.
    const splits = stages.splits === undefined || stages.splits === "auto" ? splitsFor(kernel, buffers.sizes, heads.length, context.concurrency, pack) : Math.min(maxSplits, Math.max(1, Math.floor(stages.splits)));
    const shared: [number, GPUBufferBinding][] = [[5, { buffer: buffers.headList(heads) }], [6, { buffer: buffers.lengthsFor(launch.layer, splits, pack) }]];
    if (usesAux(kernel)) shared.push([7, buffers.bindingOf(buffers.auxFor(launch))]);
    const builds = kernel.segments.kind === "tileIndex";
    if (builds) shared.push([8, buffers.bindingOf(buffers.tileIndexFor(launch))]);
    if (builds && stages.build) {
      const shape = tileIndexShape(buffers.sizes, kernel);
      const groups = Math.ceil((shape.queryTiles * shape.words) / builderWorkgroupSize);
      // Every binding of the builder is one of the attention kernel's; its layout takes the ones it uses.
      record(context, pass, pipelineFor(context, kernel, "builder"), shared, [Math.min(groups, builderGridWidth), Math.ceil(groups / builderGridWidth), heads.length]);
    }
    if (stages.attend) {
      const outputs: [number, GPUBufferBinding][] = [[3, buffers.bindingOf(buffers.out)], [4, buffers.bindingOf(buffers.lse)]];
      const partials = splits > 1 ? buffers.partialsFor(splits) : undefined;
      const bound: [number, GPUBufferBinding][] = [
        [0, { buffer: buffers.q }], [1, { buffer: buffers.k }], [2, { buffer: buffers.v }],
        ...(partials === undefined ? outputs : [[3, buffers.bindingOf(partials.out)], [4, buffers.bindingOf(partials.lse)]] satisfies [number, GPUBufferBinding][]), ...shared,
      ];
      record(context, pass, pipelineFor(context, kernel), bound, [queryTileCount(kernel, pack * buffers.sizes.Q), splits, heads.length / pack]);
      if (partials !== undefined) {
        const merged: [number, GPUBufferBinding][] = [[0, buffers.bindingOf(partials.out)], [1, buffers.bindingOf(partials.lse)], ...outputs, ...shared.filter(([binding]) => binding === 5 || binding === 6)];
        record(context, pass, pipelineFor(context, kernel, "combine"), merged, [Math.ceil(buffers.sizes.Q / combineWorkgroupSize), 1, heads.length]);
      }
    }
  }
  pass.end();
  context.device.queue.submit([encoder.finish()]);
  await settle(() => context.device.queue.onSubmittedWorkDone());
}

function record(context: WebGpuContext, pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, bound: readonly [number, GPUBufferBinding][], grid: readonly [number, number, number]): void {
  const bindGroup = context.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: bound.map(([binding, resource]) => ({ binding, resource })),
  });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...grid);
}

/** Runs a dynamic launch's builder alone and reads its tile index back (to test it against the host reference). */
export async function buildTileIndexOnDevice(context: WebGpuContext, launch: KernelLaunch, buffers: AttentionBuffers): Promise<Uint32Array> {
  await dispatchAttention(context, [launch], buffers, { build: true, attend: false });
  return buffers.readWords(buffers.tileIndexFor(launch));
}

/** A launch's runtime inputs as they are on the device now (after an estimator wrote them), in `--input` JSON shapes. */
export async function readInputsBack(context: WebGpuContext, launch: KernelLaunch, buffers: AttentionBuffers): Promise<Record<string, unknown>> {
  return unpackDeviceInputs(await buffers.readWords(buffers.auxFor(launch)), launch.kernel.inputs, buffers.sizes);
}

/** Uploads, runs and reads back: the whole attention in one call. */
export interface RunOptions {
  /**
   * Bounds guard (a test mode): outputs sit between canary regions that are checked after the kernel; a
   * kernel that writes outside its output makes the run throw.
   */
  readonly guard?: boolean;
  /** Device work queued before the launches, on their buffers: an estimator writing their runtime inputs. */
  readonly before?: (buffers: AttentionBuffers) => Promise<void>;
  /** Split-K: "auto" (default; see splitsFor) or a count of splits along the keys. */
  readonly splits?: "auto" | number;
  /** GQA decode packing (see packFor); default true. */
  readonly pack?: boolean;
}

export async function runAttention(context: WebGpuContext, launches: readonly KernelLaunch[], tensors: AttentionTensors, sizes: Sizes, options: RunOptions = {}): Promise<AttentionResult> {
  const [first] = launches;
  if (first === undefined) throw new Error("no kernel to run");
  checkDeviceLimits(context, launches, sizes);
  const buffers = new AttentionBuffers(context, tensors, sizes, first.kernel, options.guard === true);
  try {
    await options.before?.(buffers);
    context.device.pushErrorScope("validation");
    await dispatchAttention(context, launches, buffers, { build: true, attend: true, splits: options.splits ?? "auto", pack: options.pack ?? true });
    const error = await settle(() => context.device.popErrorScope());
    if (error !== null) throw new Error(`WebGPU validation failed: ${error.message}`);
    await buffers.checkCanaries();
    const out = new Float32Array((await buffers.readWords(buffers.out)).buffer, 0, buffers.outLength);
    const lse = new Float32Array((await buffers.readWords(buffers.lse)).buffer, 0, buffers.lseLength);
    return { out, lse };
  } finally {
    buffers.destroy();
  }
}

/**
 * Refuses (STP317) a launch whose buffers the device cannot hold, before anything is allocated: each buffer
 * must fit the device's largest storage binding, and each kernel's staged tiles its workgroup memory.
 * WebGPU does not report total memory, so only the per-buffer limits are known; split-K partials grow with
 * the split count and are bounded by maxSplits.
 */
export function checkDeviceLimits(context: WebGpuContext, launches: readonly KernelLaunch[], sizes: Sizes): void {
  const [first] = launches;
  if (first === undefined) return;
  const { headDim, dtype } = first.kernel;
  const element = dtype === "f32" ? 4 : 2;
  const buffers: [string, number][] = [
    ["q", sizes.H * sizes.Q * headDim * element], ["k", sizes.KVH * sizes.K * headDim * element], ["v", sizes.KVH * sizes.K * headDim * element],
    ["out", sizes.H * sizes.Q * headDim * 4], ["lse", sizes.H * sizes.Q * 4],
    ...launches.flatMap((launch): [string, number][] => [
      ...(launch.kernel.segments.kind === "tileIndex" ? [[`the tile index of ${launch.kernel.name}`, launch.heads.length * tileIndexWords(sizes, launch.kernel) * 4] as [string, number]] : []),
      ...(launch.aux === undefined ? [] : [[`the runtime inputs of ${launch.kernel.name}`, launch.aux.words.length * 4] as [string, number]]),
    ]),
  ];
  checkWorkgroupStorage(context, launches);
  const limit = Math.min(context.device.limits.maxStorageBufferBindingSize, context.device.limits.maxBufferSize);
  for (const [name, bytes] of buffers) {
    if (bytes + 2 * guardWords * 4 <= limit) continue;
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
    throw new DiagnosticError([diagnostic("STP317", `${name} needs ${mib(bytes)}, more than this device's largest buffer (${mib(limit)}) for Q = ${sizes.Q}, K = ${sizes.K}, H = ${sizes.H}`, {
      hint: "run fewer heads or a shorter sequence per launch (split the batch), or use a device with larger buffers",
    })]);
  }
}

/** f16 words of a tensor, two to a u32 (element 2w in the low half), padded to whole words. */
function packHalves(data: Float32Array): Uint32Array {
  const halves = new Uint16Array(data.length + (data.length % 2));
  halves.set(toHalfWords(data, "f16"));
  return new Uint32Array(halves.buffer);
}

async function readBack(context: WebGpuContext, source: GPUBuffer, length: number): Promise<Float32Array> {
  const staging = context.device.createBuffer({ size: Math.max(4, length * 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = context.device.createCommandEncoder();
  encoder.copyBufferToBuffer(source, 0, staging, 0, Math.max(4, length * 4));
  context.device.queue.submit([encoder.finish()]);
  await settle(() => staging.mapAsync(GPUMapMode.READ));
  const data = new Float32Array(staging.getMappedRange().slice(0, length * 4));
  staging.unmap();
  staging.destroy();
  return data;
}

/**
 * STP317 for a kernel whose staged tiles exceed the device's workgroup memory: its pipeline would fail to
 * build, and a dispatch of it would do nothing. Every dispatch checks this (benchmarks dispatch directly).
 */
function checkWorkgroupStorage(context: WebGpuContext, launches: readonly KernelLaunch[]): void {
  const staged = context.device.limits.maxComputeWorkgroupStorageSize;
  for (const { kernel } of launches) {
    const bytes = workgroupStorageBytes(kernel);
    if (bytes <= staged) continue;
    throw new DiagnosticError([diagnostic("STP317", `kernel ${kernel.name} stages ${bytes} bytes of workgroup memory (${kernel.blockN} keys × head dim ${kernel.headDim}, K and V), more than this device's ${staged}`, {
      hint: `use a smaller --block-n (at most ${Math.floor(staged / (8 * kernel.headDim))} keys at head dim ${kernel.headDim} here, fewer for dynamic patterns)`,
    })]);
  }
}
