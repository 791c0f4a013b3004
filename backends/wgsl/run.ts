import type { AttentionKernel } from "../../ir/kernel/kernel.js";
import { kernelHash } from "../../ir/kernel/kernel.js";
import type { WebGpuContext } from "./device.js";
import { emitWgsl } from "./emit.js";

export interface AttentionTensors {
  /** [H, Q, D] */
  readonly q: Float32Array;
  /** [KVH, K, D] */
  readonly k: Float32Array;
  /** [KVH, K, D] */
  readonly v: Float32Array;
}

export interface AttentionResult {
  readonly out: Float32Array;
  readonly lse: Float32Array;
}

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
  private readonly heads = new Map<string, GPUBuffer>();

  constructor(private readonly context: WebGpuContext, tensors: AttentionTensors, readonly outLength: number, readonly lseLength: number) {
    this.q = this.upload(tensors.q);
    this.k = this.upload(tensors.k);
    this.v = this.upload(tensors.v);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    this.out = context.device.createBuffer({ size: Math.max(4, outLength * 4), usage });
    this.lse = context.device.createBuffer({ size: Math.max(4, lseLength * 4), usage });
  }

  headList(list: readonly number[]): GPUBuffer {
    const key = list.join(",");
    let buffer = this.heads.get(key);
    if (buffer === undefined) {
      buffer = this.upload(Uint32Array.from(list));
      this.heads.set(key, buffer);
    }
    return buffer;
  }

  private upload(data: Float32Array | Uint32Array): GPUBuffer {
    const buffer = this.context.device.createBuffer({ size: Math.max(4, data.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    this.context.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  destroy(): void {
    for (const b of [this.q, this.k, this.v, this.out, this.lse, ...this.heads.values()]) b.destroy();
  }
}

/** Records the dispatches of all kernels (one per head group) and waits for the queue. */
export async function dispatchAttention(context: WebGpuContext, kernels: readonly AttentionKernel[], buffers: AttentionBuffers): Promise<void> {
  const encoder = context.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const kernel of kernels) {
    const pipeline = pipelineFor(context, kernel);
    const bindGroup = context.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [buffers.q, buffers.k, buffers.v, buffers.out, buffers.lse, buffers.headList(kernel.headList)].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(kernel.qLen / kernel.blockM), 1, kernel.headList.length);
  }
  pass.end();
  context.device.queue.submit([encoder.finish()]);
  await context.device.queue.onSubmittedWorkDone();
}

/** Uploads, runs and reads back: the whole attention in one call. */
export async function runAttention(context: WebGpuContext, kernels: readonly AttentionKernel[], tensors: AttentionTensors): Promise<AttentionResult> {
  const [first] = kernels;
  if (first === undefined) throw new Error("no kernel to run");
  const buffers = new AttentionBuffers(context, tensors, first.heads * first.qLen * first.headDim, first.heads * first.qLen);
  try {
    context.device.pushErrorScope("validation");
    await dispatchAttention(context, kernels, buffers);
    const error = await context.device.popErrorScope();
    if (error !== null) throw new Error(`WebGPU validation failed: ${error.message}`);
    const out = await readBack(context, buffers.out, buffers.outLength);
    const lse = await readBack(context, buffers.lse, buffers.lseLength);
    return { out, lse };
  } finally {
    buffers.destroy();
  }
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
