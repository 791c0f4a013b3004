import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import type { BlockTopKEstimator, Estimator } from "../../ir/estimate/estimator.js";
import { unpackDeviceInputs } from "../../ir/kernel/unpack-inputs.js";
import type { KernelLaunch } from "../../ir/kernel/kernel.js";
import type { Sizes } from "../../ir/pattern/eval-int.js";
import { estimatedLaunch, outputSlot } from "../estimated-input.js";
import type { AttentionResult, AttentionTensors } from "../tensors.js";
import type { CudaContext } from "./device.js";
import type { KernelArgument } from "./driver.js";
import { blockTopKKernels, blockTopKScratch, cudaEstimatorThreads, emitBlockTopKCuda } from "./estimate.js";
import { CudaAttentionBuffers, dispatchCudaAttention, loadedFunction, type CudaRunOptions } from "./run.js";
import { checkCudaKernel } from "./schedule.js";

/** STP501 for an estimator the CUDA backend does not have yet: block top-k only so far (checked before a device is opened). */
export function checkCudaEstimator(estimator: Estimator): asserts estimator is BlockTopKEstimator {
  if (estimator.kind === "blockTopK") return;
  throw new DiagnosticError([diagnostic("STP501", `the CUDA backend estimates with block_top_k only so far, not ${estimator.kind === "verticalSlash" ? "vertical_slash" : estimator.kind}`, {
    hint: "run --estimate with --backend wgsl, or pass the inputs with --input NAME=FILE",
  })]);
}

/**
 * Enqueues an estimator on the CUDA device: it writes the runtime inputs it chooses into the launch's packed
 * inputs, where the tile builder and the kernel read them; nothing goes through the host. Block top-k only
 * so far (STP501 for the others, which run on WebGPU).
 */
export function dispatchCudaEstimator(context: CudaContext, estimator: Estimator, launch: KernelLaunch, buffers: CudaAttentionBuffers): void {
  checkCudaEstimator(estimator);
  const slot = outputSlot(launch, estimator.blocks, "blocks");
  const element = checkCudaKernel(launch.kernel);
  const names = blockTopKKernels(element);
  const kernel = (name: string) => loadedFunction(context, `estimate/block-top-k/${element}/${name}`, () => ({ source: emitBlockTopKCuda(element), name }));
  const { Q, K, H, KVH } = buffers.sizes;
  const D = launch.kernel.headDim;
  const scratch = blockTopKScratch(estimator, buffers.sizes, D);
  const pooled = buffers.scratch(4 * scratch.pooled), scores = buffers.scratch(4 * scratch.scores);
  const aux = buffers.auxFor(launch);
  const pointer = (value: bigint): KernelArgument => ({ kind: "pointer", value });
  const int = (value: number): KernelArgument => ({ kind: "int", value });
  const blocks = (threads: number): number => Math.max(1, Math.ceil(threads / cudaEstimatorThreads));
  const shape = [int(Q), int(K), int(H), int(KVH), int(estimator.block), int(D), int(scratch.rowBlocks), int(scratch.colBlocks)];
  const threads: [number, number, number] = [cudaEstimatorThreads, 1, 1];
  const { driver } = context;
  driver.launch(kernel(names.pool), [blocks(Math.max(scratch.rowBlocks, scratch.colBlocks) * D), 1, Math.max(H, KVH)], threads, [pointer(buffers.q), pointer(buffers.k), pointer(pooled), ...shape]);
  driver.launch(kernel(names.scores), [blocks(scratch.rowBlocks * scratch.colBlocks), 1, H], threads, [pointer(pooled), pointer(scores), ...shape]);
  const leafWords = launch.aux === undefined ? 0 : (launch.aux.words[4 * slot + 1] ?? 0);
  driver.launch(kernel(names.clear), [blocks(leafWords * H), 1, 1], threads, [pointer(aux), int(slot), int(H)]);
  driver.launch(kernel(names.select), [blocks(scratch.rowBlocks * scratch.colBlocks), 1, H], threads, [pointer(scores), pointer(aux), int(slot), int(estimator.topK), int(scratch.rowBlocks), int(scratch.colBlocks)]);
}

/**
 * estimate → build → attend on CUDA in one call, as on WebGPU (backends/wgsl/estimate/attend.ts): the
 * chosen inputs are read back once, after the kernels, for checks and for the caller.
 */
export function runCudaEstimatedAttention(
  context: CudaContext, estimator: Estimator, launches: readonly KernelLaunch[], tensors: AttentionTensors, sizes: Sizes, options: CudaRunOptions = {},
): AttentionResult & { readonly inputs: Record<string, unknown> } {
  checkCudaEstimator(estimator);
  const launch = estimatedLaunch(launches);
  const buffers = new CudaAttentionBuffers(context, tensors, sizes, launches, options.guard === true);
  try {
    dispatchCudaEstimator(context, estimator, launch, buffers);
    dispatchCudaAttention(context, launches, buffers, options.splits);
    context.driver.synchronize();
    buffers.checkPartials();
    return {
      out: buffers.read(buffers.out, buffers.outLength, "out"),
      lse: buffers.read(buffers.lse, buffers.lseLength, "lse"),
      inputs: unpackDeviceInputs(buffers.readAux(launch), launch.kernel.inputs, sizes),
    };
  } finally {
    buffers.free();
  }
}
