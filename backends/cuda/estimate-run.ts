import type { Estimator } from "../../ir/estimate/estimator.js";
import { verticalSlashBudgets } from "../../ir/estimate/vertical-slash.js";
import { assertNever } from "../../util/hash.js";
import { unpackDeviceInputs } from "../../ir/kernel/unpack-inputs.js";
import type { KernelLaunch } from "../../ir/kernel/kernel.js";
import type { Sizes } from "../../ir/pattern/eval-int.js";
import { checkStagedQuery, estimatedLaunch, estimatorScoreTerms, outputSlot } from "../estimated-input.js";
import { checkScoreRange, type AttentionResult, type AttentionTensors } from "../tensors.js";
import type { CudaContext } from "./device.js";
import type { KernelArgument } from "./driver.js";
import { blockTopKKernels, blockTopKScratch, cudaEstimatorThreads, emitBlockTopKCuda } from "./estimate.js";
import { emitVerticalSlashCuda, verticalSlashHeadChunkCuda, verticalSlashKernels, verticalSlashScratchCuda } from "./estimate-vertical-slash.js";
import { emitXAttentionMassCuda, emitXAttentionSelectCuda, xattentionMassKernels, xattentionScratch, xattentionSelectKernels } from "./estimate-xattention.js";
import { emitXAttentionTensorMassCuda, xattentionOnTensorCores } from "./estimate-xattention-tensor.js";
import { cudaSelectThreads } from "./select-top.js";
import { CudaAttentionBuffers, dispatchCudaAttention, loadedFunction, type CudaRunOptions } from "./run.js";
import { checkCudaKernel } from "./schedule.js";

/**
 * What the CUDA estimators cannot do, checked before a device is opened: XAttention's staging limit (STP314),
 * for the CUDA-core mass kernel only (the tensor-core one stages 64 reduction elements at a time, whatever
 * the stride).
 */
export function checkCudaEstimator(estimator: Estimator, headDim: number): void {
  if (estimator.kind === "xattention" && !xattentionOnTensorCores(estimator.block, estimator.stride)) checkStagedQuery(estimator.stride, headDim);
}

/**
 * Enqueues an estimator on the CUDA device: it writes the runtime inputs it chooses into the launch's packed
 * inputs, where the tile builder and the kernel read them; nothing goes through the host.
 */
export function dispatchCudaEstimator(context: CudaContext, estimator: Estimator, launch: KernelLaunch, buffers: CudaAttentionBuffers): void {
  const element = checkCudaKernel(launch.kernel);
  const { Q, K, H, KVH } = buffers.sizes;
  const D = launch.kernel.headDim;
  checkCudaEstimator(estimator, D);
  const aux = buffers.auxFor(launch);
  const { driver } = context;
  const blocks = (threads: number): number => Math.max(1, Math.ceil(threads / cudaEstimatorThreads));
  const threads: [number, number, number] = [cudaEstimatorThreads, 1, 1];
  const leafWords = (slot: number): number => (launch.aux === undefined ? 0 : (launch.aux.words[4 * slot + 1] ?? 0));
  switch (estimator.kind) {
    case "blockTopK": {
      const slot = outputSlot(launch, estimator.blocks, "blocks");
      const names = blockTopKKernels(element);
      const kernel = (name: string) => loadedFunction(context, `estimate/block-top-k/${element}`, name, () => emitBlockTopKCuda(element));
      const scratch = blockTopKScratch(estimator, buffers.sizes, D);
      const pooled = buffers.scratch("pooled", 4 * scratch.pooled), scores = buffers.scratch("scores", 4 * scratch.scores);
      const shape = [int(Q), int(K), int(H), int(KVH), int(estimator.block), int(D), int(scratch.rowBlocks), int(scratch.colBlocks)];
      driver.launch(kernel(names.pool), [blocks(Math.max(scratch.rowBlocks, scratch.colBlocks) * D), 1, Math.max(H, KVH)], threads, [pointer(buffers.q), pointer(buffers.k), pointer(pooled), ...shape]);
      driver.launch(kernel(names.scores), [blocks(scratch.rowBlocks * scratch.colBlocks), 1, H], threads, [pointer(pooled), pointer(scores), ...shape]);
      driver.launch(kernel(names.clear), [blocks(leafWords(slot) * H), 1, 1], threads, [pointer(aux), int(slot), int(H)]);
      driver.launch(kernel(names.select), [scratch.rowBlocks, 1, H], [cudaSelectThreads, 1, 1], [pointer(scores), pointer(aux), pointer(0n), int(scratch.colBlocks), int(estimator.topK), int(slot), int(scratch.rowBlocks)]);
      return;
    }
    case "verticalSlash": {
      const vertical = outputSlot(launch, estimator.vertical, "index"), slash = outputSlot(launch, estimator.slash, "index");
      const budgets = verticalSlashBudgets(estimator, K);
      const rows = Math.min(budgets.lastQ, Q);
      const names = verticalSlashKernels(element, D);
      const kernel = (name: string) => loadedFunction(context, `estimate/vertical-slash/${element}/d${D}`, name, () => emitVerticalSlashCuda(element, D));
      // The budget is ours, not the device's: a head larger than it still runs alone (running out of memory
      // then is the allocator's coded STP906).
      const chunk = verticalSlashHeadChunkCuda(H, rows, K);
      const sizes = verticalSlashScratchCuda(rows, K);
      const scratch = (name: string, words: number): bigint => buffers.scratch(name, 4 * chunk * words);
      const parts = scratch("parts", sizes.parts), stats = scratch("stats", sizes.stats), columnParts = scratch("column parts", sizes.columns), diagonalParts = scratch("diagonal parts", sizes.diagonals);
      const columns = buffers.scratch("columns", 4 * H * K), diagonals = buffers.scratch("diagonals", 4 * H * K);
      for (let head0 = 0; head0 < H; head0 += chunk) {
        const heads = Math.min(chunk, H - head0);
        const tiles = (pass: number) => driver.launch(kernel(names.tiles), [sizes.tiles, sizes.rowTiles, heads], threads, [
          pointer(buffers.q), pointer(buffers.k), pointer(parts), pointer(stats), pointer(columnParts), pointer(diagonalParts),
          int(Q), int(K), int(H), int(KVH), int(rows), int(sizes.tiles), int(sizes.rowTiles), float(launch.kernel.scale), int(head0), int(pass),
        ]);
        tiles(0);
        driver.launch(kernel(names.stats), [rows, 1, heads], threads, [pointer(parts), pointer(stats), int(rows), int(sizes.tiles)]);
        tiles(1);
        driver.launch(kernel(names.scores), [blocks(K), 1, heads], threads, [
          pointer(columnParts), pointer(diagonalParts), pointer(columns), pointer(diagonals),
          int(K), int(rows), int(sizes.tiles), int(sizes.rowTiles), int(estimator.firstColumns), int(estimator.nearDiagonals), int(head0),
        ]);
      }
      for (const [keys, slot, n] of [[columns, vertical, budgets.vertical], [diagonals, slash, budgets.slash]] as const) {
        driver.launch(kernel(names.clear), [blocks(leafWords(slot) * H), 1, 1], threads, [pointer(aux), int(slot), int(H)]);
        driver.launch(kernel(names.select), [1, 1, H], [cudaSelectThreads, 1, 1], [pointer(keys), pointer(aux), pointer(0n), int(K), int(n), int(slot), int(1)]);
      }
      return;
    }
    case "xattention": {
      const slot = outputSlot(launch, estimator.blocks, "blocks");
      const { block, stride } = estimator;
      const massNames = xattentionMassKernels(element, D, stride), names = xattentionSelectKernels;
      const massKey = `estimate/xattention/${element}/d${D}/s${stride}`;
      const kernel = (name: string) => loadedFunction(context, "estimate/xattention/select", name, emitXAttentionSelectCuda);
      const scratch = xattentionScratch(buffers.sizes, block, stride, D);
      const keys = buffers.scratch("keys", 4 * scratch.keys), limits = buffers.scratch("limits", 4 * scratch.limits);
      const shape = [int(Q), int(K), int(H), int(KVH)];
      const { mass } = scratch;
      switch (mass.kind) {
        case "tensorCores": {
          const massKernel = loadedFunction(context, `${massKey}/tensor-cores`, massNames.tensorCores, () => emitXAttentionTensorMassCuda(element, D, stride, massNames.tensorCores));
          driver.launch(massKernel, [mass.rowTiles, 1, H], threads, [pointer(buffers.q), pointer(buffers.k), pointer(keys), ...shape, int(block / stride), int(scratch.rowBlocks), int(scratch.colBlocks), float(launch.kernel.scale)]);
          break;
        }
        case "cudaCores": {
          const massKernel = loadedFunction(context, `${massKey}/cuda-cores`, massNames.cudaCores, () => emitXAttentionMassCuda(element, D, stride));
          const scores = buffers.scratch("scores", 4 * mass.scores);
          // The query blocks in chunks whose scores fit the scratch.
          for (let b0 = 0; b0 < scratch.rowBlocks; b0 += mass.chunk) {
            const chunk = Math.min(mass.chunk, scratch.rowBlocks - b0);
            driver.launch(massKernel, [chunk, 1, H], threads, [
              pointer(buffers.q), pointer(buffers.k), pointer(scores), pointer(keys),
              ...shape, int(block), int(scratch.rowBlocks), int(scratch.colBlocks), int(b0), int(chunk), float(launch.kernel.scale),
            ]);
          }
          break;
        }
        default:
          assertNever(mass, "XAttention mass plan");
      }
      driver.launch(kernel(names.limits), [scratch.rowBlocks, 1, H], threads, [pointer(keys), pointer(limits), int(Q), int(K), int(block), int(scratch.rowBlocks), int(scratch.colBlocks), float(estimator.threshold)]);
      driver.launch(kernel(names.clear), [blocks(leafWords(slot) * H), 1, 1], threads, [pointer(aux), int(slot), int(H)]);
      // n is unbounded (all ones): each query block keeps exactly its own size from `limits`.
      driver.launch(kernel(names.select), [scratch.rowBlocks, 1, H], [cudaSelectThreads, 1, 1], [pointer(keys), pointer(aux), pointer(limits), int(scratch.colBlocks), int(-1), int(slot), int(scratch.rowBlocks)]);
      return;
    }
    default:
      return assertNever(estimator, "CUDA estimator");
  }
}

const pointer = (value: bigint): KernelArgument => ({ kind: "pointer", value });
const int = (value: number): KernelArgument => ({ kind: "int", value });
const float = (value: number): KernelArgument => ({ kind: "float", value });

/**
 * estimate → build → attend on CUDA in one call, as on WebGPU (backends/wgsl/estimate/attend.ts): the
 * chosen inputs are read back once, after the kernels, for checks and for the caller.
 */
export function runCudaEstimatedAttention(
  context: CudaContext, estimator: Estimator, launches: readonly KernelLaunch[], tensors: AttentionTensors, sizes: Sizes, options: CudaRunOptions = {},
): AttentionResult & { readonly inputs: Record<string, unknown> } {
  const launch = estimatedLaunch(launches);
  checkCudaEstimator(estimator, launch.kernel.headDim);
  const buffers = new CudaAttentionBuffers(context, tensors, sizes, launches, options.guard === true);
  try {
    // The buffers checked the tensors for attention; the estimator's scores may sum more products.
    checkScoreRange(tensors, sizes, launch.kernel.headDim, estimatorScoreTerms(estimator));
    dispatchCudaEstimator(context, estimator, launch, buffers);
    dispatchCudaAttention(context, launches, buffers, options);
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
