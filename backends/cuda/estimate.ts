import type { BlockTopKEstimator } from "../../ir/estimate/estimator.js";
import type { CudaElement } from "./schedule.js";
import { elementToFloat } from "./prelude.js";
import { orderKeyCuda, selectTopCuda } from "./select-top.js";

/** Threads per estimator block. */
export const cudaEstimatorThreads = 128;

/** The estimator kernels' entry points for an element type. */
export const blockTopKKernels = (element: CudaElement) => ({
  pool: `stipple_block_pool_${element}`,
  scores: `stipple_block_scores_${element}`,
  clear: `stipple_clear_input_${element}`,
  select: `stipple_block_select_${element}`,
}) as const;

/**
 * MInference's block estimator in CUDA (reference: ir/estimate/block-top-k.ts; the WGSL kernels'
 * rules, backends/wgsl/estimate/block-top-k.ts): four kernels.
 * 1. pool: one thread per (block, d) and head: q̄ [H][rowBlocks][D], then k̄ [KVH][colBlocks][D] (means);
 * 2. scores: one thread per (query block, key block) and head: the pooled dot product, as an order key; key
 *    blocks past the query block's last position score −∞, those holding a row's diagonal +∞;
 * 3. clear: zeroes the estimated input's leaves (the select ORs bits in);
 * 4. select: the shared top-n selection (./select-top.ts), a block per query block and head: the top_k
 *    largest, ties to the lower index, −∞ never (so at most the causal blocks).
 * The chosen blocks go straight into the launch's packed inputs (passes/device-inputs.ts), where the tile
 * builder and the kernel read them.
 */
export function emitBlockTopKCuda(element: CudaElement): string {
  const names = blockTopKKernels(element);
  const threads = cudaEstimatorThreads;
  return `// Stipple estimator: block top-k (${element} q and k), generated, do not edit.
${elementToFloat(element)}
${orderKeyCuda}
extern "C" __global__ void __launch_bounds__(${threads}) ${names.pool}(
    const unsigned short* __restrict__ q_in, const unsigned short* __restrict__ k_in, float* __restrict__ pooled,
    int q_len, int k_len, int heads, int kv_heads, int block, int head_dim, int row_blocks, int col_blocks) {
  const int at = (int)(blockIdx.x * ${threads}u + threadIdx.x);
  const int head = (int)blockIdx.z, b = at / head_dim, d = at % head_dim;
  // Query blocks of head z (z < heads), then key blocks of KV head z (z < kv_heads).
  if (b < row_blocks && head < heads) {
    const int end = min(q_len, (b + 1) * block);
    float sum = 0.0f;
    for (int row = b * block; row < end; row++) sum += element_to_float(q_in[((long long)head * q_len + row) * head_dim + d]);
    pooled[((long long)head * row_blocks + b) * head_dim + d] = sum / (float)(end - b * block);
  }
  if (b < col_blocks && head < kv_heads) {
    const int end = min(k_len, (b + 1) * block);
    float sum = 0.0f;
    for (int key = b * block; key < end; key++) sum += element_to_float(k_in[((long long)head * k_len + key) * head_dim + d]);
    pooled[((long long)heads * row_blocks + (long long)head * col_blocks + b) * head_dim + d] = sum / (float)(end - b * block);
  }
}

extern "C" __global__ void __launch_bounds__(${threads}) ${names.scores}(
    const float* __restrict__ pooled, unsigned* __restrict__ keys,
    int q_len, int k_len, int heads, int kv_heads, int block, int head_dim, int row_blocks, int col_blocks) {
  const int at = (int)(blockIdx.x * ${threads}u + threadIdx.x);
  if (at >= row_blocks * col_blocks) return;
  const int head = (int)blockIdx.z, kv_head = head * kv_heads / heads;
  const int b = at / col_blocks, c = at % col_blocks;
  const int first = k_len - q_len + b * block;
  const int last = k_len - q_len + min(q_len, (b + 1) * block) - 1;
  unsigned key = STIPPLE_NEG_INF_KEY;
  if (c * block <= last) {
    if ((c + 1) * block - 1 >= first) {
      key = STIPPLE_POS_INF_KEY;
    } else {
      const float* qp = pooled + ((long long)head * row_blocks + b) * head_dim;
      const float* kp = pooled + ((long long)heads * row_blocks + (long long)kv_head * col_blocks + c) * head_dim;
      float score = 0.0f;
      for (int d = 0; d < head_dim; d++) score += qp[d] * kp[d];
      key = order_key(score);
    }
  }
  keys[((long long)head * row_blocks + b) * col_blocks + c] = key;
}

${clearInputCuda(names.clear)}
${selectTopCuda(names.select)}`;
}

/** A block max (is_max) or sum over cudaEstimatorThreads threads, `block_reduce`; every thread gets the result. */
export const blockReduceCuda = `// A block max (is_max) or sum; every thread gets the result.
__device__ __forceinline__ float block_reduce(float* partial, float value, bool is_max) {
  __syncthreads();
  partial[threadIdx.x] = value;
  for (unsigned step = ${cudaEstimatorThreads / 2}u; step > 0u; step >>= 1) {
    __syncthreads();
    if (threadIdx.x < step) {
      const float other = partial[threadIdx.x + step];
      partial[threadIdx.x] = is_max ? fmaxf(partial[threadIdx.x], other) : partial[threadIdx.x] + other;
    }
  }
  __syncthreads();
  return partial[0];
}
`;

/** Zeroes one input's leaves (all heads) before a selection ORs bits into them: one thread per word. */
export function clearInputCuda(name: string): string {
  return `extern "C" __global__ void __launch_bounds__(${cudaEstimatorThreads}) ${name}(unsigned* __restrict__ aux, int slot, int heads) {
  const unsigned words = aux[4 * slot + 1] * (unsigned)heads;
  const unsigned at = blockIdx.x * ${cudaEstimatorThreads}u + threadIdx.x;
  if (at < words) aux[aux[4 * slot] + at] = 0u;
}
`;
}

/** The pooled scratch (floats) and the score keys (words) a block top-k run needs. */
export function blockTopKScratch(estimator: BlockTopKEstimator, sizes: { Q: number; K: number; H: number; KVH: number }, headDim: number): { pooled: number; scores: number; rowBlocks: number; colBlocks: number } {
  const rowBlocks = Math.ceil(sizes.Q / estimator.block), colBlocks = Math.ceil(sizes.K / estimator.block);
  return { pooled: (sizes.H * rowBlocks + sizes.KVH * colBlocks) * headDim, scores: sizes.H * rowBlocks * colBlocks, rowBlocks, colBlocks };
}
