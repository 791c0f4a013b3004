import { blockReduceCuda, clearInputCuda, cudaEstimatorThreads } from "./estimate.js";
import { elementToFloat } from "./prelude.js";
import type { CudaElement } from "./schedule.js";
import { orderKeyCuda, selectTopCuda } from "./select-top.js";

/** The XAttention estimator's entry points for an element type, head dim and stride. */
export const xattentionKernels = (element: CudaElement, headDim: number, stride: number) => ({
  mass: `stipple_xa_mass_${element}_d${headDim}_s${stride}`,
  clear: `stipple_xa_clear_${element}_d${headDim}_s${stride}`,
  select: `stipple_xa_select_${element}_d${headDim}_s${stride}`,
}) as const;

/**
 * XAttention in CUDA (reference: ir/estimate/xattention.ts), the WGSL kernel's rules
 * (backends/wgsl/estimate/xattention.ts) with a block per head and query block:
 * 1. per cell row of the block (its stride query rows staged in shared memory, along the anti-diagonal):
 *    every cell's anti-diagonal score into a scratch row, a block max and sum, then each thread adds the
 *    probabilities of the cells of its own key blocks to their masses (no two threads write one mass);
 * 2. the block's selection size: the forced blocks (first, diagonal) plus the fewest candidates, heaviest
 *    first, whose mass reaches the need (threshold × total − forced mass), found bit by bit over the
 *    candidates' order keys: the largest key T whose candidates at or above it carry the need; then all
 *    above T and enough ties at T.
 * The masses leave as order keys (forced +∞, non-causal −∞) and the sizes as per-problem limits, so the
 * shared selection (./select-top.ts, ties to the lower index) sets exactly the blocks the count chose.
 */
export function emitXAttentionCuda(element: CudaElement, headDim: number, stride: number): string {
  const names = xattentionKernels(element, headDim, stride);
  const T = cudaEstimatorThreads, D = headDim, S = stride;
  return `// Stipple estimator: XAttention (${element} q and k, head dim ${D}, stride ${S}), generated, do not edit.
${elementToFloat(element)}
${orderKeyCuda}
// Below every score: marks cells with no causal pair (left out of the softmax).
#define XA_NO_SCORE (-3.0e38f)

__device__ __forceinline__ float from_order_key(unsigned key) {
  return __uint_as_float((key & 0x80000000u) != 0u ? (key & 0x7fffffffu) : ~key);
}

${blockReduceCuda}
// Candidates (causal, not forced) with a key at or above t (strictly above when strict): their mass and count.
__device__ void xa_tally(float* partial, const unsigned* keys, const float* mass, int col_blocks, unsigned t, bool strict, float* total_mass, float* count) {
  float m = 0.0f, n = 0.0f;
  for (int c = (int)threadIdx.x; c < col_blocks; c += ${T}) {
    const unsigned key = keys[c];
    const bool candidate = key != STIPPLE_NEG_INF_KEY && key != STIPPLE_POS_INF_KEY;
    if (candidate && (strict ? key > t : key >= t)) {
      m += mass[c];
      n += 1.0f;
    }
  }
  *total_mass = block_reduce(partial, m, false);
  *count = block_reduce(partial, n, false);
}

extern "C" __global__ void __launch_bounds__(${T}) ${names.mass}(
    const unsigned short* __restrict__ q_in, const unsigned short* __restrict__ k_in, float* __restrict__ scratch,
    float* __restrict__ masses, unsigned* __restrict__ keys, unsigned* __restrict__ limits,
    int q_len, int k_len, int heads, int kv_heads, int block, int row_blocks, int col_blocks, float threshold, float scale) {
  // The cell row's query rows along the anti-diagonal: q_cell[s] is row aS + S - 1 - s (0 past Q).
  __shared__ float q_cell[${S * D}];
  __shared__ float partial[${T}];
  const int Q = q_len, K = k_len;
  const int head = (int)blockIdx.z, kv_head = head * kv_heads / heads, b = (int)blockIdx.x;
  const long long problem = (long long)head * row_blocks + b;
  const int cell_cols = (K + ${S - 1}) / ${S}, cells_per_block = block / ${S};
  float* row_scores = scratch + problem * cell_cols;
  float* mass = masses + problem * col_blocks;
  unsigned* order = keys + problem * col_blocks;
  const int local = (int)threadIdx.x;
  for (int c = local; c < col_blocks; c += ${T}) mass[c] = 0.0f;
  const int first_cell = b * cells_per_block;
  const int end_cell = min((Q + ${S - 1}) / ${S}, first_cell + cells_per_block);
  for (int a = first_cell; a < end_cell; a++) {
    // Cells past the row's last position hold no causal pair: the row's scores stop there.
    const int row_cells = min(cell_cols, (K - Q + min(Q - 1, a * ${S} + ${S - 1})) / ${S} + 1);
    // The previous cell row's reads of q_cell and of the scratch row are over.
    __syncthreads();
    for (int at = local; at < ${S * D}; at += ${T}) {
      const int row = a * ${S} + ${S - 1} - at / ${D};
      q_cell[at] = row < Q ? element_to_float(q_in[((long long)head * Q + min(row, Q - 1)) * ${D} + at % ${D}]) : 0.0f;
    }
    __syncthreads();
    float row_max = XA_NO_SCORE;
    for (int c = local; c < row_cells; c += ${T}) {
      float dot = 0.0f;
      int terms = 0;
      for (int s = 0; s < ${S}; s++) {
        const int row = a * ${S} + ${S - 1} - s, key = c * ${S} + s;
        if (row < Q && key < K && key <= K - Q + row) {
          for (int d = 0; d < ${D}; d++) dot += q_cell[s * ${D} + d] * element_to_float(k_in[((long long)kv_head * K + key) * ${D} + d]);
          terms++;
        }
      }
      const float score = terms > 0 ? dot * scale / ${S}.0f : XA_NO_SCORE;
      row_scores[c] = score;
      row_max = fmaxf(row_max, score);
    }
    row_max = block_reduce(partial, row_max, true);
    if (row_max == XA_NO_SCORE) continue;
    float sum = 0.0f;
    for (int c = local; c < row_cells; c += ${T}) {
      const float score = row_scores[c];
      sum += score != XA_NO_SCORE ? expf(score - row_max) : 0.0f;
    }
    // The reduction's barriers also make every thread's scores visible to the others.
    sum = block_reduce(partial, sum, false);
    for (int kb = local; kb < col_blocks; kb += ${T}) {
      float m = 0.0f;
      const int end = min(row_cells, (kb + 1) * cells_per_block);
      for (int c = kb * cells_per_block; c < end; c++) {
        const float score = row_scores[c];
        m += score != XA_NO_SCORE ? expf(score - row_max) : 0.0f;
      }
      mass[kb] += m / sum;
    }
  }
  __syncthreads();
  const int first = K - Q + b * block;
  const int last = K - Q + min(Q, (b + 1) * block) - 1;
  float total = 0.0f, forced_mass = 0.0f, forced = 0.0f;
  for (int c = local; c < col_blocks; c += ${T}) {
    const float m = mass[c];
    total += m;
    const bool causal = c * block <= last;
    unsigned key = STIPPLE_NEG_INF_KEY;
    if (causal && (c == 0 || (c + 1) * block - 1 >= first)) {
      key = STIPPLE_POS_INF_KEY;
      forced_mass += m;
      forced += 1.0f;
    } else if (causal) {
      key = order_key(m);
    }
    order[c] = key;
  }
  total = block_reduce(partial, total, false);
  forced_mass = block_reduce(partial, forced_mass, false);
  forced = block_reduce(partial, forced, false);
  const float need = threshold * total - forced_mass;
  unsigned extra = 0u;
  if (need > 0.0f) {
    float all_mass, all_count;
    xa_tally(partial, order, mass, col_blocks, 0u, false, &all_mass, &all_count);
    if (all_mass < need) {
      extra = (unsigned)all_count;
    } else {
      unsigned t = 0u;
      for (int bit = 31; bit >= 0; bit--) {
        const unsigned candidate = t | (1u << bit);
        float m, n;
        xa_tally(partial, order, mass, col_blocks, candidate, false, &m, &n);
        if (m >= need) t = candidate;
      }
      float above_mass, above_count, at_mass, at_count;
      xa_tally(partial, order, mass, col_blocks, t, true, &above_mass, &above_count);
      xa_tally(partial, order, mass, col_blocks, t, false, &at_mass, &at_count);
      const unsigned ties = (unsigned)(at_count - above_count);
      const float tie_mass = from_order_key(t);
      // As WGSL's clamp(wanted, 1, ties): min(max(wanted, 1), ties), in floats so no conversion overflows.
      const float wanted = tie_mass > 0.0f ? ceilf((need - above_mass) / tie_mass) : (float)ties;
      extra = (unsigned)above_count + (unsigned)fminf(fmaxf(wanted, 1.0f), (float)ties);
    }
  }
  if (local == 0) limits[problem] = (unsigned)forced + extra;
}

${clearInputCuda(names.clear)}
${selectTopCuda(names.select)}`;
}

/** Scratch sizes (floats or words) of an XAttention run: scores per cell column, masses, order keys, limits. */
export function xattentionScratch(sizes: { Q: number; K: number; H: number }, block: number, stride: number): { scores: number; masses: number; limits: number; rowBlocks: number; colBlocks: number } {
  const rowBlocks = Math.ceil(sizes.Q / block), colBlocks = Math.ceil(sizes.K / block);
  return { scores: sizes.H * rowBlocks * Math.ceil(sizes.K / stride), masses: sizes.H * rowBlocks * colBlocks, limits: sizes.H * rowBlocks, rowBlocks, colBlocks };
}
