import type { Estimator } from "../../../ir/estimate/estimator.js";
import { verticalSlashBudgets } from "../../../ir/estimate/vertical-slash.js";
import type { KernelLaunch } from "../../../ir/kernel/kernel.js";
import { outputSlot, verticalSlashHeadChunk, xattentionBlockChunk } from "../../estimated-input.js";
import type { WebGpuContext } from "../device.js";
import type { AttentionBuffers } from "../run.js";
import { blockPoolWgsl, blockScoresWgsl } from "./block-top-k.js";
import { clearInputWgsl, selectTopWgsl } from "./select-top.js";
import { estimatorWorkgroup, logitKeysPerInvocation, verticalSlashLogitsWgsl, verticalSlashScoresWgsl, verticalSlashSoftmaxWgsl } from "./vertical-slash.js";
import { xattentionCellRows, xattentionMassWgsl, xattentionScratchBytes } from "./xattention.js";
import { settle } from "../settle.js";

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** The estimators' pipelines, keyed by their text (a handful of small shaders). */
function pipelineOf(context: WebGpuContext, code: string): GPUComputePipeline {
  let cache = pipelines.get(context.device);
  if (cache === undefined) {
    cache = new Map();
    pipelines.set(context.device, cache);
  }
  let pipeline = cache.get(code);
  if (pipeline === undefined) {
    const label = code.slice(3, code.indexOf("\n"));
    pipeline = context.device.createComputePipeline({ layout: "auto", compute: { module: context.device.createShaderModule({ code, label }), entryPoint: "main" }, label });
    cache.set(code, pipeline);
  }
  return pipeline;
}

export interface EstimatorOptions {
  /**
   * The most bytes vertical-slash's probabilities (default: the device's largest buffer) or XAttention's
   * scores (default: xattentionScratchBytes) take at once; capped by the largest buffer.
   */
  readonly scratchBytes?: number;
  /** Keys per invocation of vertical-slash's logits kernel (default: logitKeysPerInvocation of the adapter). */
  readonly logitKeys?: number;
}

/**
 * Runs an estimator on the device: writes the runtime inputs it chooses straight into the launch's packed
 * inputs, where the index builder and the attention kernel read them. Nothing goes through the host.
 */
export async function dispatchEstimator(context: WebGpuContext, estimator: Estimator, launch: KernelLaunch, buffers: AttentionBuffers, options: EstimatorOptions = {}): Promise<void> {
  const { Q, K, H, KVH } = buffers.sizes;
  const D = launch.kernel.headDim;
  const device = context.device;
  // Sized (and refused, STP317) before anything is recorded.
  const largest = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const chunk = estimator.kind === "verticalSlash"
    ? verticalSlashHeadChunk(H, Math.min(verticalSlashBudgets(estimator, K).lastQ, Q), K, Math.min(largest, options.scratchBytes ?? largest))
    : H;
  const blockChunk = estimator.kind === "xattention" ? xattentionBlockChunk({ K, H }, estimator.stride, xattentionCellRows, Math.min(largest, options.scratchBytes ?? xattentionScratchBytes), largest) : 0;
  const scratch: GPUBuffer[] = [];
  const storage = (words: number): GPUBuffer => {
    const buffer = device.createBuffer({ size: Math.max(16, words * 4), usage: GPUBufferUsage.STORAGE });
    scratch.push(buffer);
    return buffer;
  };
  const uniform = (values: readonly number[], floats: readonly number[] = []): GPUBuffer => {
    const data = new ArrayBuffer(Math.max(16, Math.ceil((values.length + floats.length) / 4) * 16));
    new Int32Array(data).set(values);
    new Float32Array(data).set(floats, values.length);
    const buffer = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buffer, 0, data);
    scratch.push(buffer);
    return buffer;
  };
  device.pushErrorScope("validation");
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  const dispatch = (code: string, bound: readonly [number, GPUBuffer][], grid: readonly [number, number, number]): void => {
    const pipeline = pipelineOf(context, code);
    pass.setPipeline(pipeline);
    // The estimated inputs are bound past their canary (bindingOf); scratch buffers whole.
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: bound.map(([binding, buffer]) => ({ binding, resource: buffers.bindingOf(buffer) })) }));
    pass.dispatchWorkgroups(...grid);
  };
  const aux = buffers.auxFor(launch);
  /** The top n of `count` keys per problem into input `slot` (at most limits[problem] each, when given). */
  const select = (keys: GPUBuffer, count: number, n: number, slot: number, problems: number, leafWords: number, limits?: GPUBuffer): void => {
    dispatch(clearInputWgsl(), [[1, uniform([slot, H])], [2, aux]], [Math.ceil((leafWords * H) / 64), 1, 1]);
    const bound: [number, GPUBuffer][] = [[0, keys], [1, uniform([count, n, slot, problems])], [2, aux]];
    dispatch(selectTopWgsl(limits !== undefined), limits === undefined ? bound : [...bound, [3, limits]], [problems, 1, H]);
  };
  const groups = (n: number): number => Math.ceil(n / estimatorWorkgroup);
  const dtype = launch.kernel.dtype;
  switch (estimator.kind) {
    case "verticalSlash": {
      const vertical = outputSlot(launch, estimator.vertical, "index"), slash = outputSlot(launch, estimator.slash, "index");
      const budgets = verticalSlashBudgets(estimator, K);
      const rows = Math.min(budgets.lastQ, Q);
      const probs = storage(chunk * rows * K), columns = storage(H * K), diagonals = storage(H * K);
      const logitKeys = options.logitKeys ?? logitKeysPerInvocation(context);
      for (let head0 = 0; head0 < H; head0 += chunk) {
        const heads = Math.min(chunk, H - head0);
        const params = uniform([Q, K, H, KVH, rows, D, estimator.firstColumns, estimator.nearDiagonals, head0], [launch.kernel.scale]);
        dispatch(verticalSlashLogitsWgsl(dtype, D, logitKeys), [[0, buffers.q], [1, buffers.k], [3, params], [4, probs]], [groups(Math.ceil(K / logitKeys)), 1, heads]);
        dispatch(verticalSlashSoftmaxWgsl(dtype), [[3, params], [4, probs]], [rows, 1, heads]);
        dispatch(verticalSlashScoresWgsl(dtype), [[3, params], [4, probs], [5, columns], [6, diagonals]], [groups(K), 1, heads]);
      }
      select(columns, K, budgets.vertical, vertical, 1, Math.ceil(K / 32));
      select(diagonals, K, budgets.slash, slash, 1, Math.ceil(K / 32));
      break;
    }
    case "blockTopK": {
      const slot = outputSlot(launch, estimator.blocks, "blocks");
      const rowBlocks = Math.ceil(Q / estimator.block), colBlocks = Math.ceil(K / estimator.block);
      const params = uniform([Q, K, H, KVH, estimator.block, D, rowBlocks, colBlocks]);
      const pooled = storage((H * rowBlocks + KVH * colBlocks) * D), keys = storage(H * rowBlocks * colBlocks);
      dispatch(blockPoolWgsl(dtype), [[0, buffers.q], [1, buffers.k], [3, params], [4, pooled]], [groups(Math.max(rowBlocks, colBlocks) * D), 1, Math.max(H, KVH)]);
      dispatch(blockScoresWgsl(dtype), [[3, params], [4, pooled], [5, keys]], [groups(rowBlocks * colBlocks), 1, H]);
      select(keys, colBlocks, estimator.topK, slot, rowBlocks, Math.ceil((rowBlocks * colBlocks) / 32));
      break;
    }
    case "xattention": {
      const slot = outputSlot(launch, estimator.blocks, "blocks");
      const { block, stride } = estimator;
      const rowBlocks = Math.ceil(Q / block), colBlocks = Math.ceil(K / block);
      const masses = storage(H * rowBlocks * colBlocks), keys = storage(H * rowBlocks * colBlocks), limits = storage(H * rowBlocks);
      // The scores of each problem's current cell rows, a chunk of query blocks (all heads) a dispatch.
      const scores = storage(H * Math.min(blockChunk, rowBlocks) * xattentionCellRows * Math.ceil(K / stride));
      for (let b0 = 0; b0 < rowBlocks; b0 += blockChunk) {
        const blocks = Math.min(blockChunk, rowBlocks - b0);
        const params = uniform([Q, K, H, KVH, block, rowBlocks, colBlocks, b0, blocks], [estimator.threshold, launch.kernel.scale]);
        dispatch(xattentionMassWgsl(dtype, D, stride), [[0, buffers.q], [1, buffers.k], [3, params], [5, masses], [6, keys], [7, limits], [8, scores]], [blocks, 1, H]);
      }
      select(keys, colBlocks, 0xffffffff, slot, rowBlocks, Math.ceil((rowBlocks * colBlocks) / 32), limits);
      break;
    }
  }
  pass.end();
  device.queue.submit([encoder.finish()]);
  await settle(() => device.queue.onSubmittedWorkDone());
  const error = await settle(() => device.popErrorScope());
  for (const buffer of scratch) buffer.destroy();
  if (error !== null) throw new Error(`WebGPU validation failed in the ${estimator.kind} estimator: ${error.message}`);
}
