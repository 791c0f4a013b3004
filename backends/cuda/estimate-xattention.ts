import { xattentionBlockChunk } from "../estimated-input.js";
import { clearInputCuda, cudaEstimatorThreads } from "./estimate.js";
import { xattentionLimitsCuda } from "./estimate-xattention-limits.js";
import { xattentionOnTensorCores, xattentionTensorRowTiles } from "./estimate-xattention-tensor.js";
import { eightToFloatCuda, elementToFloat } from "./prelude.js";
import type { CudaElement } from "./schedule.js";
import { orderKeyCuda, selectTopCuda } from "./select-top.js";

/**
 * The XAttention estimator's entry points: the block masses, a module per element type, head dim and stride,
 * on CUDA cores (below) or on tensor cores (./estimate-xattention-tensor.ts); then, in one module for all,
 * the sizes, the clear and the selection.
 */
export const xattentionMassKernels = (element: CudaElement, headDim: number, stride: number) => ({
  cudaCores: `stipple_xa_mass_${element}_d${headDim}_s${stride}`,
  tensorCores: `stipple_xa_tensor_mass_${element}_d${headDim}_s${stride}`,
}) as const;
export const xattentionSelectKernels = { limits: "stipple_xa_limits", clear: "stipple_xa_clear", select: "stipple_xa_select" } as const;

/**
 * Cell rows the mass kernel scores together, for a stride and head dim: their q rows are staged in shared
 * memory as floats, at most xattentionStagedFloats of them (32 KiB), and each K row read serves all of them.
 */
export const xattentionStagedFloats = 8192;
export const xattentionCellRowsCuda = (headDim: number, stride: number): number => Math.max(1, Math.min(8, Math.floor(xattentionStagedFloats / (stride * headDim))));
/** Cells whose probabilities a block stages at a time before summing them per key block. */
export const xattentionChunkCells = 2 * cudaEstimatorThreads;
/** The most bytes the scores scratch of one mass launch takes (a query block whose rows exceed it runs alone). */
export const xattentionScratchBytesCuda = 256 * 2 ** 20;

/**
 * XAttention's block masses on CUDA cores (reference: ir/estimate/xattention.ts), the WGSL kernel's rules
 * (backends/wgsl/estimate/xattention.ts) with a block per head and query block, for blocks of more cells
 * than the tensor-core kernel takes (./estimate-xattention-tensor.ts). The block's cell rows go CR at a time
 * (xattentionCellRowsCuda), their stride query rows staged in shared memory along the anti-diagonal. Each
 * thread scores its cells for all CR rows at once (each K row it reads, 8 elements a load, serves every cell
 * row), keeping a running max and sum per cell row and writing the scores to a scratch of the current cell
 * rows (CR × ⌈K/S⌉ floats a query block; the kernel runs over the query blocks in chunks whose scratch fits
 * xattentionScratchBytesCuda, ../estimated-input.ts); a tree over the block combines the running pairs.
 * Then, a chunk of cells at a time, each thread writes its cells' probabilities (summed over the cell rows,
 * from the scratch) into shared memory, and one thread per key block adds that block's cells to its mass
 * (no two threads write one mass, and the order is fixed). Each cell is scored once. The masses leave as
 * float bits, one word per block pair, for the sizes (./estimate-xattention-limits.ts).
 */
export function emitXAttentionMassCuda(element: CudaElement, headDim: number, stride: number): string {
  const name = xattentionMassKernels(element, headDim, stride).cudaCores;
  const T = cudaEstimatorThreads, D = headDim, S = stride;
  const CR = xattentionCellRowsCuda(D, S), CH = xattentionChunkCells;
  return `// Stipple estimator: XAttention's block masses on CUDA cores (${element} q and k, head dim ${D}, stride ${S}), generated, do not edit.
${elementToFloat(element)}
${eightToFloatCuda}
// Below every score: marks cells with no causal pair (left out of the softmax).
#define XA_NO_SCORE (-3.0e38f)
// Cell rows scored together, and cells whose probabilities are staged at a time.
#define XA_ROWS ${CR}
#define XA_CHUNK ${CH}

// Cell c's anti-diagonal scores for the staged cell rows a0 .. a0 + XA_ROWS - 1: row aS + S - 1 - s against
// key cS + s, summed over s; XA_NO_SCORE for a cell row past end_cell or with no causal pair in the cell.
__device__ __forceinline__ void xa_cell_scores(const float* q_cell, const unsigned short* k_head, int Q, int K, int a0, int end_cell, int c, float score[XA_ROWS], float scale) {
  float dot[XA_ROWS];
  bool any[XA_ROWS];
#pragma unroll
  for (int i = 0; i < XA_ROWS; i++) { dot[i] = 0.0f; any[i] = false; }
  for (int s = 0; s < ${S}; s++) {
    const int key = c * ${S} + s;
    if (key >= K) break;
    float part[XA_ROWS];
#pragma unroll
    for (int i = 0; i < XA_ROWS; i++) part[i] = 0.0f;
    // D is a multiple of 16, so each K row is whole 16-byte words.
    const uint4* k_row = reinterpret_cast<const uint4*>(k_head + (long long)key * ${D});
    for (int d8 = 0; d8 < ${D / 8}; d8++) {
      const uint4 w = k_row[d8];
      float kf[8];
      eight_to_float(w, kf);
#pragma unroll
      for (int i = 0; i < XA_ROWS; i++) {
        const float* q = q_cell + (i * ${S} + s) * ${D} + d8 * 8;
#pragma unroll
        for (int j = 0; j < 8; j++) part[i] += q[j] * kf[j];
      }
    }
#pragma unroll
    for (int i = 0; i < XA_ROWS; i++) {
      const int row = (a0 + i) * ${S} + ${S - 1} - s;
      if (a0 + i < end_cell && row < Q && key <= K - Q + row) {
        dot[i] += part[i];
        any[i] = true;
      }
    }
  }
#pragma unroll
  for (int i = 0; i < XA_ROWS; i++) score[i] = any[i] ? dot[i] * scale / ${S}.0f : XA_NO_SCORE;
}

// One block a multiprocessor is enough for ptxas: without that minimum it held the kernel to 72–96
// registers and spilled 4–32 bytes at several head dims and strides, on both archs.
extern "C" __global__ void __launch_bounds__(${T}, 1) ${name}(
    const unsigned short* __restrict__ q_in, const unsigned short* __restrict__ k_in, float* __restrict__ scores, unsigned* __restrict__ keys,
    int q_len, int k_len, int heads, int kv_heads, int block, int row_blocks, int col_blocks, int b0, int chunk_blocks, float scale) {
  // The staged cell rows' query rows along the anti-diagonal: q_cell[i][s] is row (a0 + i)S + S - 1 - s (0 past Q).
  __shared__ __align__(16) float q_cell[XA_ROWS * ${S * D}];
  // Each thread's running (max, sum) per cell row, combined by a tree into [row][0].
  __shared__ float row_max_of[XA_ROWS][${T}];
  __shared__ float row_sum_of[XA_ROWS][${T}];
  __shared__ float chunk_probs[XA_CHUNK];
  const int Q = q_len, K = k_len;
  // This launch serves query blocks b0 .. b0 + chunk_blocks - 1, x = b - b0.
  const int head = (int)blockIdx.z, kv_head = head * kv_heads / heads, b = b0 + (int)blockIdx.x;
  const long long problem = (long long)head * row_blocks + b;
  const int cell_cols = (K + ${S - 1}) / ${S}, cells_per_block = block / ${S};
  // The current cell rows' scores, [head][x][cell row][cell].
  float* row_scores = scores + ((long long)head * chunk_blocks + blockIdx.x) * XA_ROWS * cell_cols;
  const unsigned short* k_head = k_in + (long long)kv_head * K * ${D};
  unsigned* order = keys + problem * col_blocks;
  const int local = (int)threadIdx.x;
  for (int c = local; c < col_blocks; c += ${T}) order[c] = __float_as_uint(0.0f);
  const int first_cell = b * cells_per_block;
  const int end_cell = min((Q + ${S - 1}) / ${S}, first_cell + cells_per_block);
  for (int a0 = first_cell; a0 < end_cell; a0 += XA_ROWS) {
    // Each cell row's cells: none past its last row's position (a cell row past end_cell has none).
    int cells[XA_ROWS];
    int chunk_cells = 0;
#pragma unroll
    for (int i = 0; i < XA_ROWS; i++) {
      cells[i] = a0 + i < end_cell ? min(cell_cols, (K - Q + min(Q - 1, (a0 + i) * ${S} + ${S - 1})) / ${S} + 1) : 0;
      chunk_cells = max(chunk_cells, cells[i]);
    }
    // The previous group's reads of q_cell, of the statistics and of the scores are over.
    __syncthreads();
    for (int at = local; at < XA_ROWS * ${S * D}; at += ${T}) {
      const int i = at / ${S * D}, s = at / ${D} % ${S};
      const int row = (a0 + i) * ${S} + ${S - 1} - s;
      q_cell[at] = row < Q ? element_to_float(q_in[((long long)head * Q + row) * ${D} + at % ${D}]) : 0.0f;
    }
    __syncthreads();
    float run_max[XA_ROWS], run_sum[XA_ROWS];
#pragma unroll
    for (int i = 0; i < XA_ROWS; i++) { run_max[i] = XA_NO_SCORE; run_sum[i] = 0.0f; }
    for (int c = local; c < chunk_cells; c += ${T}) {
      float score[XA_ROWS];
      xa_cell_scores(q_cell, k_head, Q, K, a0, end_cell, c, score, scale);
#pragma unroll
      for (int i = 0; i < XA_ROWS; i++) {
        row_scores[(long long)i * cell_cols + c] = c < cells[i] ? score[i] : XA_NO_SCORE;
        if (c < cells[i] && score[i] != XA_NO_SCORE) {
          const float grown = fmaxf(run_max[i], score[i]);
          run_sum[i] = run_sum[i] * expf(run_max[i] - grown) + expf(score[i] - grown);
          run_max[i] = grown;
        }
      }
    }
#pragma unroll
    for (int i = 0; i < XA_ROWS; i++) { row_max_of[i][local] = run_max[i]; row_sum_of[i][local] = run_sum[i]; }
    for (int step = ${T / 2}; step > 0; step >>= 1) {
      __syncthreads();
      if (local < step) {
#pragma unroll
        for (int i = 0; i < XA_ROWS; i++) {
          const float m1 = row_max_of[i][local], m2 = row_max_of[i][local + step], m = fmaxf(m1, m2);
          row_sum_of[i][local] = row_sum_of[i][local] * expf(m1 - m) + row_sum_of[i][local + step] * expf(m2 - m);
          row_max_of[i][local] = m;
        }
      }
    }
    __syncthreads();
    float stat_max[XA_ROWS], stat_sum[XA_ROWS];
#pragma unroll
    for (int i = 0; i < XA_ROWS; i++) { stat_max[i] = row_max_of[i][0]; stat_sum[i] = row_sum_of[i][0]; }
    for (int c0 = 0; c0 < chunk_cells; c0 += XA_CHUNK) {
      const int chunk_end = min(chunk_cells, c0 + XA_CHUNK);
      // The scores were written before the tree's barriers, so every thread's are visible.
      for (int c = c0 + local; c < chunk_end; c += ${T}) {
        float p = 0.0f;
#pragma unroll
        for (int i = 0; i < XA_ROWS; i++) {
          const float score = row_scores[(long long)i * cell_cols + c];
          if (score != XA_NO_SCORE) p += expf(score - stat_max[i]) / stat_sum[i];
        }
        chunk_probs[c - c0] = p;
      }
      __syncthreads();
      // The key blocks the chunk's cells fall in, a thread each: their cells in index order.
      for (int kb = c0 / cells_per_block + local; kb * cells_per_block < chunk_end; kb += ${T}) {
        float m = 0.0f;
        for (int c = max(c0, kb * cells_per_block); c < min(chunk_end, (kb + 1) * cells_per_block); c++) m += chunk_probs[c - c0];
        order[kb] = __float_as_uint(__uint_as_float(order[kb]) + m);
      }
      // The chunk's probabilities are read before the next chunk writes them.
      __syncthreads();
    }
  }
}
`;
}

/** The sizes, the clear and the selection of an XAttention run, after either mass kernel. */
export function emitXAttentionSelectCuda(): string {
  const names = xattentionSelectKernels;
  return `// Stipple estimator: XAttention's selection, generated, do not edit.
${orderKeyCuda}
${xattentionLimitsCuda(names.limits)}
${clearInputCuda(names.clear)}
${selectTopCuda(names.select)}`;
}

/** How a run's masses are computed: on tensor cores, a block per 64 cell rows; on CUDA cores, in chunks of query blocks whose scores (floats) fit the scratch. */
export type XAttentionMassPlan =
  | { readonly kind: "tensorCores"; readonly rowTiles: number }
  | { readonly kind: "cudaCores"; readonly chunk: number; readonly scores: number };

/** Scratch sizes (words) of an XAttention run: a mass, then order key, per block pair; a size per query block; and the mass kernel's plan. */
export function xattentionScratch(sizes: { Q: number; K: number; H: number }, block: number, stride: number, headDim: number, budgetBytes = xattentionScratchBytesCuda): { keys: number; limits: number; rowBlocks: number; colBlocks: number; mass: XAttentionMassPlan } {
  const rowBlocks = Math.ceil(sizes.Q / block), colBlocks = Math.ceil(sizes.K / block);
  const words = { keys: sizes.H * rowBlocks * colBlocks, limits: sizes.H * rowBlocks, rowBlocks, colBlocks };
  if (xattentionOnTensorCores(block, stride)) return { ...words, mass: { kind: "tensorCores", rowTiles: xattentionTensorRowTiles(sizes.Q, block, stride) } };
  const rows = xattentionCellRowsCuda(headDim, stride);
  const chunk = Math.min(rowBlocks, xattentionBlockChunk(sizes, stride, rows, budgetBytes));
  return { ...words, mass: { kind: "cudaCores", chunk, scores: sizes.H * chunk * rows * Math.ceil(sizes.K / stride) } };
}
