import { blockReduceCuda, clearInputCuda, cudaEstimatorThreads } from "./estimate.js";
import { eightToFloatCuda, elementToFloat } from "./prelude.js";
import type { CudaElement } from "./schedule.js";
import { orderKeyCuda, selectTopCuda } from "./select-top.js";

/** The vertical-slash estimator's entry points for an element type and head dim. */
export const verticalSlashKernels = (element: CudaElement, headDim: number) => ({
  logits: `stipple_vs_logits_${element}_d${headDim}`,
  softmax: `stipple_vs_softmax_${element}_d${headDim}`,
  scores: `stipple_vs_scores_${element}_d${headDim}`,
  clear: `stipple_vs_clear_${element}_d${headDim}`,
  select: `stipple_vs_select_${element}_d${headDim}`,
}) as const;

/**
 * The most scratch the probabilities of one chunk of heads take on CUDA (../estimated-input.ts's
 * verticalSlashHeadChunk): at 1M keys and 64 rows, four heads a chunk; one head when a head is larger.
 */
export const verticalSlashScratchBytes = 2 ** 30;

/**
 * MInference's vertical-slash estimator in CUDA (reference: ir/estimate/vertical-slash.ts; the WGSL kernels'
 * rules, backends/wgsl/estimate/vertical-slash.ts), before the shared top-n selection (./select-top.ts):
 * 1. logits: one thread per key and head, the last rows 8 at a time: the block stages their q rows as floats
 *    in shared memory, and each thread reads its K row 8 elements a load, each converted element serving
 *    the 8 rows (q reads are broadcasts). It used to hold its whole K row in a float array, which ptxas put in
 *    local memory (a 320 B–1 KiB stack frame from D 80 in f16, at 256 in bf16), and converted every q
 *    element once per key. Into a scratch [head][row][K] that holds a chunk of heads
 *    (verticalSlashHeadChunk), heads head0 on; the kernels below run per chunk;
 * 2. softmax: one block per last row and head: block max and sum, then the row's causal softmax in place
 *    (0 past the row's position);
 * 3. scores: one thread per head and key sums its column (`diagonal` 0) or one thread per head and offset o
 *    sums p[row][position − o] (`diagonal` 1); the first columns and the near offsets are forced (+∞);
 * 4. clear, then select: the top vertical_size columns and slash_size offsets into the packed inputs.
 */
export function emitVerticalSlashCuda(element: CudaElement, headDim: number): string {
  const names = verticalSlashKernels(element, headDim);
  const threads = cudaEstimatorThreads;
  const D = headDim;
  return `// Stipple estimator: vertical-slash (${element} q and k, head dim ${D}), generated, do not edit.
${elementToFloat(element)}
${eightToFloatCuda}${orderKeyCuda}
extern "C" __global__ void __launch_bounds__(${threads}) ${names.logits}(
    const unsigned short* __restrict__ q_in, const unsigned short* __restrict__ k_in, float* __restrict__ probs,
    int q_len, int k_len, int heads, int kv_heads, int rows, float scale, int head0) {
  // The current 8 last rows' q, as floats (0 past the last row).
  __shared__ __align__(16) float q_rows[8 * ${D}];
  const int key = (int)(blockIdx.x * ${threads}u + threadIdx.x);
  const int head = head0 + (int)blockIdx.z, kv_head = head * kv_heads / heads;
  // Threads past the last key still meet at the barriers; they read key 0's row and write nothing.
  const bool live = key < k_len;
  const uint4* k_row = reinterpret_cast<const uint4*>(k_in + ((long long)kv_head * k_len + (live ? key : 0)) * ${D});
  for (int r0 = 0; r0 < rows; r0 += 8) {
    __syncthreads();  // the previous rows' readers are done
    for (int at = (int)threadIdx.x; at < 8 * ${D}; at += ${threads}) {
      const int r = r0 + at / ${D};
      q_rows[at] = r < rows ? element_to_float(q_in[((long long)head * q_len + q_len - rows + r) * ${D} + at % ${D}]) : 0.0f;
    }
    __syncthreads();
    float dot[8];
#pragma unroll
    for (int i = 0; i < 8; i++) dot[i] = 0.0f;
    for (int d8 = 0; d8 < ${D / 8}; d8++) {
      const uint4 w = k_row[d8];
      float kf[8];
      eight_to_float(w, kf);
#pragma unroll
      for (int i = 0; i < 8; i++) {
#pragma unroll
        for (int j = 0; j < 8; j++) dot[i] += q_rows[i * ${D} + d8 * 8 + j] * kf[j];
      }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
      const int r = r0 + i, row = q_len - rows + r;
      // Keys past the row's position are never read (the softmax stops at the position).
      if (live && r < rows && key <= k_len - q_len + row) probs[((long long)blockIdx.z * rows + r) * k_len + key] = dot[i] * scale;
    }
  }
}

${blockReduceCuda}
extern "C" __global__ void __launch_bounds__(${threads}) ${names.softmax}(float* __restrict__ probs, int k_len, int rows) {
  __shared__ float partial[${threads}];
  const int head = (int)blockIdx.z, r = (int)blockIdx.x;
  const int position = k_len - rows + r;
  float* row = probs + ((long long)head * rows + r) * k_len;
  float row_max = -3.0e38f;
  for (int key = (int)threadIdx.x; key <= position; key += ${threads}) row_max = fmaxf(row_max, row[key]);
  const float m = block_reduce(partial, row_max, true);
  float sum = 0.0f;
  for (int key = (int)threadIdx.x; key <= position; key += ${threads}) sum += expf(row[key] - m);
  const float total = block_reduce(partial, sum, false);
  for (int key = (int)threadIdx.x; key < k_len; key += ${threads}) row[key] = key <= position ? expf(row[key] - m) / total : 0.0f;
}

extern "C" __global__ void __launch_bounds__(${threads}) ${names.scores}(
    const float* __restrict__ probs, unsigned* __restrict__ keys, int k_len, int rows, int forced, int diagonal, int head0) {
  const int at = (int)(blockIdx.x * ${threads}u + threadIdx.x);
  const int head = head0 + (int)blockIdx.z;
  if (at >= k_len) return;
  float sum = 0.0f;
  for (int r = 0; r < rows; r++) {
    const int key = diagonal != 0 ? k_len - rows + r - at : at;
    if (key >= 0) sum += probs[((long long)blockIdx.z * rows + r) * k_len + key];
  }
  keys[(long long)head * k_len + at] = at < forced ? STIPPLE_POS_INF_KEY : order_key(sum);
}

${clearInputCuda(names.clear)}
${selectTopCuda(names.select)}`;
}
