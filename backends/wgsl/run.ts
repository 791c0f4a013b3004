import type { AttentionKernel, KernelLaunch } from "../../ir/kernel/kernel.js";
import { kernelHash, queryTileCount } from "../../ir/kernel/kernel.js";
import type { Sizes } from "../../ir/pattern/eval-int.js";
import { toHalfWords } from "../../util/half.js";
import { canary, guardWords, unguarded } from "../guard.js";
import type { AttentionResult, AttentionTensors } from "../tensors.js";
import type { WebGpuContext } from "./device.js";
import { emitWgsl, usesAux } from "./emit.js";
import { checkWgslKernel } from "./schedule.js";

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** Compiles (or reuses, keyed by the kernel's structural hash) the pipeline of one kernel. */
export function pipelineFor(context: WebGpuContext, kernel: AttentionKernel): GPUComputePipeline {
  let cache = pipelines.get(context.device);
  if (cache === undefined) {
    cache = new Map();
    pipelines.set(context.device, cache);
  }
  const key = kernelHash(kernel);
  let pipeline = cache.get(key);
  if (pipeline === undefined) {
    const module = context.device.createShaderModule({ code: emitWgsl(kernel), label: kernel.name });
    pipeline = context.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" }, label: kernel.name });
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
  private readonly lengths = new Map<number, GPUBuffer>();
  private readonly aux = new WeakMap<KernelLaunch, readonly [GPUBuffer, GPUBuffer]>();
  private readonly owned: GPUBuffer[] = [];

  /** Words of canary before and after each output when guarded (0 otherwise). */
  readonly guardWords: number;

  /** `kernel`: any of the launches' kernels (they share the head dim and tensor type). */
  constructor(private readonly context: WebGpuContext, tensors: AttentionTensors, readonly sizes: Sizes, kernel: Pick<AttentionKernel, "headDim" | "dtype">, guard = false) {
    const { headDim } = kernel;
    const expect = (name: string, data: Float32Array, length: number): void => {
      if (data.length !== length) throw new Error(`${name} has ${data.length} values, expected ${length}`);
    };
    expect("q", tensors.q, sizes.H * sizes.Q * headDim);
    expect("k", tensors.k, sizes.KVH * sizes.K * headDim);
    expect("v", tensors.v, sizes.KVH * sizes.K * headDim);
    checkWgslKernel(kernel);
    const stored = (data: Float32Array): Float32Array | Uint32Array => (kernel.dtype === "f16" ? packHalves(data) : data);
    this.q = this.upload(stored(tensors.q), GPUBufferUsage.STORAGE);
    this.k = this.upload(stored(tensors.k), GPUBufferUsage.STORAGE);
    this.v = this.upload(stored(tensors.v), GPUBufferUsage.STORAGE);
    this.outLength = sizes.H * sizes.Q * headDim;
    this.lseLength = sizes.H * sizes.Q;
    this.guardWords = guard ? guardWords : 0;
    this.out = this.output(this.outLength);
    this.lse = this.output(this.lseLength);
  }

  /** An output buffer, between canary regions when guarded (filled at creation, checked after the run). */
  private output(length: number): GPUBuffer {
    const words = Math.max(1, length) + 2 * this.guardWords;
    const buffer = this.context.device.createBuffer({ size: words * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, mappedAtCreation: this.guardWords > 0 });
    if (this.guardWords > 0) {
      new Uint32Array(buffer.getMappedRange()).fill(canary);
      buffer.unmap();
    }
    return buffer;
  }

  /** The binding of an output: past the leading canary, exactly its own length. */
  outputBinding(buffer: GPUBuffer, length: number): GPUBufferBinding {
    return { buffer, offset: this.guardWords * 4, size: Math.max(1, length) * 4 };
  }

  /** The uniform lengths of a launch for one layer. */
  lengthsFor(layer: number): GPUBuffer {
    let buffer = this.lengths.get(layer);
    if (buffer === undefined) {
      const { Q, K, H, KVH, L } = this.sizes;
      buffer = this.upload(Int32Array.from([Q, K, H, KVH, L, layer, 0, 0]), GPUBufferUsage.UNIFORM);
      this.lengths.set(layer, buffer);
    }
    return buffer;
  }

  /** The packed runtime inputs and index plan of a launch, and their directory. */
  auxFor(launch: KernelLaunch): readonly [GPUBuffer, GPUBuffer] {
    let buffers = this.aux.get(launch);
    if (buffers === undefined) {
      const data = launch.aux ?? { words: new Uint32Array(1), directory: new Uint32Array(1) };
      buffers = [this.upload(data.words, GPUBufferUsage.STORAGE), this.upload(data.directory, GPUBufferUsage.STORAGE)];
      this.aux.set(launch, buffers);
    }
    return buffers;
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

/** Records the dispatches of all kernels (one per head group) and waits for the queue. */
export async function dispatchAttention(context: WebGpuContext, launches: readonly KernelLaunch[], buffers: AttentionBuffers): Promise<void> {
  const encoder = context.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const launch of launches) {
    const { kernel, heads } = launch;
    const pipeline = pipelineFor(context, kernel);
    const bound: GPUBufferBinding[] = [
      { buffer: buffers.q }, { buffer: buffers.k }, { buffer: buffers.v },
      buffers.outputBinding(buffers.out, buffers.outLength), buffers.outputBinding(buffers.lse, buffers.lseLength),
      { buffer: buffers.headList(heads) }, { buffer: buffers.lengthsFor(launch.layer) },
    ];
    if (usesAux(kernel)) bound.push(...buffers.auxFor(launch).map((buffer) => ({ buffer })));
    const bindGroup = context.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: bound.map((resource, binding) => ({ binding, resource })),
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(queryTileCount(kernel, buffers.sizes.Q), 1, heads.length);
  }
  pass.end();
  context.device.queue.submit([encoder.finish()]);
  await context.device.queue.onSubmittedWorkDone();
}

/** Uploads, runs and reads back: the whole attention in one call. */
export interface RunOptions {
  /**
   * Bounds guard (a test mode): outputs sit between canary regions that are checked after the kernel; a
   * kernel that writes outside its output makes the run throw.
   */
  readonly guard?: boolean;
}

export async function runAttention(context: WebGpuContext, launches: readonly KernelLaunch[], tensors: AttentionTensors, sizes: Sizes, options: RunOptions = {}): Promise<AttentionResult> {
  const [first] = launches;
  if (first === undefined) throw new Error("no kernel to run");
  const buffers = new AttentionBuffers(context, tensors, sizes, first.kernel, options.guard === true);
  try {
    context.device.pushErrorScope("validation");
    await dispatchAttention(context, launches, buffers);
    const error = await context.device.popErrorScope();
    if (error !== null) throw new Error(`WebGPU validation failed: ${error.message}`);
    const out = await readGuarded(context, buffers.out, buffers.outLength, buffers.guardWords, "out");
    const lse = await readGuarded(context, buffers.lse, buffers.lseLength, buffers.guardWords, "lse");
    return { out, lse };
  } finally {
    buffers.destroy();
  }
}

/** f16 words of a tensor, two to a u32 (element 2w in the low half), padded to whole words. */
function packHalves(data: Float32Array): Uint32Array {
  const halves = new Uint16Array(data.length + (data.length % 2));
  halves.set(toHalfWords(data, "f16"));
  return new Uint32Array(halves.buffer);
}

/** Reads an output and, when guarded, checks its canaries: the words around it must be untouched. */
async function readGuarded(context: WebGpuContext, source: GPUBuffer, length: number, guard: number, name: string): Promise<Float32Array> {
  return unguarded(await readBack(context, source, Math.max(1, length) + 2 * guard), length, guard, name);
}

async function readBack(context: WebGpuContext, source: GPUBuffer, length: number): Promise<Float32Array> {
  const staging = context.device.createBuffer({ size: Math.max(4, length * 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = context.device.createCommandEncoder();
  encoder.copyBufferToBuffer(source, 0, staging, 0, Math.max(4, length * 4));
  context.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const data = new Float32Array(staging.getMappedRange().slice(0, length * 4));
  staging.unmap();
  staging.destroy();
  return data;
}
