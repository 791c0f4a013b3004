import { cudaEstimatorThreads } from "./estimate.js";
import { eightToFloatCuda, elementToFloat, tensorCoreCuda } from "./prelude.js";
import { runningSoftmaxCuda, tileProductCuda } from "./tile-product.js";
import type { CudaElement } from "./schedule.js";

/**
 * The most cells a block (block / stride) may hold for the tensor-core mass kernel: a block's 64 cell rows
 * and a column tile's 64 cells hold whole query and key blocks. Past it the CUDA-core kernel runs.
 */
export const xattentionTensorMaxCells = 64;
export const xattentionOnTensorCores = (block: number, stride: number): boolean => block / stride <= xattentionTensorMaxCells;
/** Cell rows a tensor-core block serves (and cells a column tile holds): the whole query (key) blocks that fit 64. */
export const xattentionTensorTile = (cellsPerBlock: number): number => cellsPerBlock * Math.floor(xattentionTensorMaxCells / cellsPerBlock);
/** Blocks of the tensor-core mass kernel along x: one per xattentionTensorTile cell rows. */
export const xattentionTensorRowTiles = (Q: number, block: number, stride: number): number => Math.ceil(Math.ceil(Q / stride) / xattentionTensorTile(block / stride));

/**
 * XAttention's block masses on tensor cores (reference: ir/estimate/xattention.ts; the CUDA-core kernel,
 * ./estimate-xattention.ts, runs where a block holds more than 64 cells). A cell's anti-diagonal score is one
 * dot product of length S·D: cell row a's query rows reversed and laid end to end (Q′[a] = q[aS + S − 1],
 * …, q[aS]) against cell c's key rows end to end (K′[c] = k[cS], …, k[cS + S − 1], contiguous in memory),
 * so the scores are the product Q′·K′ᵀ, run here as mma.sync m16n8k16 with f32 accumulation: a block of
 * 128 threads takes 64 cell rows (whole query blocks) of one head, each warp 16 of them, and walks column
 * tiles of 64 cells (whole key blocks) up to its causal end; each tile's product goes S·D/KC steps, the
 * next step's Q′ and K′ chunks copied by cp.async while the current one multiplies.
 * Rows past Q and keys past K are zero-filled, so a cell's product is the sum over its in-range pairs. Only
 * a cell whose in-range pairs are not all causal (pair s is causal when 2s ≤ K − Q + (a − c)S + S − 1: at
 * most two cells a row, by the diagonal) is summed again, over its causal pairs, on CUDA cores; a cell with
 * no causal pair has no score. Two passes over the tiles: the first keeps each cell row's running max and
 * sum (a thread holds two rows, its quad combines them), the second recomputes the same products, turns
 * them into probabilities in shared memory and sums them per (query block, key block), first down each
 * query block's rows, then along each key block's cells, in a fixed order; every pair of blocks is one
 * tile's, so its mass is written once, as float bits, for ./estimate-xattention-limits.ts. Recomputing the
 * products costs a second pass of tensor-core work and keeps no scores scratch (the CUDA-core kernel's
 * chunks of query blocks): every block of 64 cell rows of every head runs at once.
 */
export function emitXAttentionTensorMassCuda(element: CudaElement, headDim: number, stride: number, name: string): string {
  const D = headDim, S = stride, T = cudaEstimatorThreads;
  // A: the block's cell rows' query rows along the anti-diagonal; B: the tile's cells' key rows (c0: the tile's first cell).
  const product = tileProductCuda(S * D, `      const int s = r / ${D}, d = r % ${D};
      if (!from_b) {
        const int row = (a0 + i) * ${S} + ${S - 1} - s;
        valid = i < TILE && row < Q;
        src = q_head + (valid ? (long long)row * ${D} + d : 0);
      } else {
        const int key = (c0 + i) * ${S} + s;
        valid = i < TILE && key < K;
        src = k_head + (valid ? (long long)key * ${D} + d : 0);
      }`);
  return `// Stipple estimator: XAttention's block masses on tensor cores (${element} q and k, head dim ${D}, stride ${S}), generated, do not edit.
${tensorCoreCuda(element)}${elementToFloat(element)}
${eightToFloatCuda}${runningSoftmaxCuda}// Below every score: marks cells with no causal pair (left out of the softmax).
#define XA_NO_SCORE (-3.0e38f)

// Cell (a, c)'s pairs s_lo .. s_hi: query row aS + S - 1 - s against key cS + s, 8 elements a load (rows are
// whole 16-byte words: D is a multiple of 16).
__device__ float xa_pairs_dot(const unsigned short* q_head, const unsigned short* k_head, int a, int c, int s_lo, int s_hi) {
  float dot = 0.0f;
  for (int s = s_lo; s <= s_hi; s++) {
    const uint4* q = reinterpret_cast<const uint4*>(q_head + (long long)(a * ${S} + ${S - 1} - s) * ${D});
    const uint4* k = reinterpret_cast<const uint4*>(k_head + (long long)(c * ${S} + s) * ${D});
    for (int d8 = 0; d8 < ${D / 8}; d8++) {
      float qf[8], kf[8];
      eight_to_float(q[d8], qf);
      eight_to_float(k[d8], kf);
#pragma unroll
      for (int j = 0; j < 8; j++) dot += qf[j] * kf[j];
    }
  }
  return dot;
}

// Cell (a, c)'s score from its product (the sum over its in-range pairs), or XA_NO_SCORE without a causal
// pair. In range: s from s_lo (rows below Q) to s_end - 1 (keys below K); causal: 2s <= t.
__device__ __forceinline__ float xa_score(float product, const unsigned short* q_head, const unsigned short* k_head, int Q, int K, int a, int c, float scale) {
  const int s_lo = max(0, a * ${S} + ${S} - Q), s_end = min(${S}, K - c * ${S});
  const int t = K - Q + (a - c) * ${S} + ${S - 1};
  const int s_hi = min(s_end - 1, t >= 0 ? t / 2 : -1);
  if (s_lo > s_hi) return XA_NO_SCORE;
  const float dot = s_hi < s_end - 1 ? xa_pairs_dot(q_head, k_head, a, c, s_lo, s_hi) : product;
  return dot * scale / ${S}.0f;
}

// Three blocks a multiprocessor (up to 170 registers; their shared memory fits sm_80's too): without a
// minimum, ptxas held the kernel to 80 registers on sm_90 and spilled up to 316 bytes; at four blocks (128
// registers) bf16 at D 80 and stride 1 (a reduction of 16 a step) still spilled 40; at three, 100–168 and none.
extern "C" __global__ void __launch_bounds__(${T}, 3) ${name}(
    const unsigned short* __restrict__ q_in, const unsigned short* __restrict__ k_in, unsigned* __restrict__ keys,
    int q_len, int k_len, int heads, int kv_heads, int cells_per_block, int row_blocks, int col_blocks, float scale) {
  const int Q = q_len, K = k_len, R = cells_per_block, TILE = R * (64 / R);
  const int head = (int)blockIdx.z, kv_head = head * kv_heads / heads;
  const int warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32, g = lane / 4, quad = lane % 4;
  const int cell_rows = (Q + ${S - 1}) / ${S}, cell_cols = (K + ${S - 1}) / ${S};
  const int a0 = (int)blockIdx.x * TILE, a_end = min(cell_rows, a0 + TILE);
  const int b0 = a0 / R, b_end = min(row_blocks, (a_end + R - 1) / R);
  const unsigned short* const q_head = q_in + (long long)head * Q * ${D};
  const unsigned short* const k_head = k_in + (long long)kv_head * K * ${D};
  unsigned* const masses = keys + ((long long)head * row_blocks + b0) * col_blocks;
  // Key blocks no column tile reaches keep a zero mass (the barriers below order these stores before the tiles').
  for (long long at = threadIdx.x; at < (long long)(b_end - b0) * col_blocks; at += ${T}) masses[at] = 0u;
  // Column tiles up to the last cell any of the block's rows reaches causally.
  const int last_key = K - Q + min(Q - 1, a_end * ${S} - 1);
  const int col_tiles = last_key < 0 ? 0 : (min(cell_cols, last_key / ${S} + 1) + TILE - 1) / TILE;
  int c0 = 0;
${product.prologue}  // After a tile's product in the second pass, the stages' memory holds its probabilities, [cell row][cell].
  float* const probs = tp_floats;
  // Each of this thread's two rows (g and g + 8 of its warp's sixteen): running max and sum over its cells.
  float row_max[2] = {XA_NO_SCORE, XA_NO_SCORE}, row_sum[2] = {0.0f, 0.0f};
  for (int pass = 0; pass < 2; pass++) {
    for (int tile = 0; tile < col_tiles; tile++) {
      c0 = tile * TILE;
      // The product Q′·K′ᵀ for this warp's 16 cell rows × the tile's 64 cells.
      float acc[8][4];
${product.loop}#pragma unroll
      for (int n = 0; n < 8; n++) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
          // Accumulator element e: row g (+ 8 from e = 2), cell 2 quad + e % 2 of octet n.
          const int i = warp * 16 + g + 8 * (e / 2), j = n * 8 + 2 * quad + e % 2;
          const int a = a0 + i, c = c0 + j;
          const float score = i < TILE && j < TILE && a < cell_rows && c < cell_cols ? xa_score(acc[n][e], q_head, k_head, Q, K, a, c, scale) : XA_NO_SCORE;
          if (pass == 0) {
            if (score != XA_NO_SCORE) running_fold(row_max[e / 2], row_sum[e / 2], score);
          } else {
            probs[i * TP_PROB_STRIDE + j] = score != XA_NO_SCORE ? expf(score - row_max[e / 2]) / row_sum[e / 2] : 0.0f;
          }
        }
      }
      if (pass == 1) {
        __syncthreads();
        // Down each query block's rows, per cell, into the block's first row (its own rows only).
        for (int at = (int)threadIdx.x; at < (TILE / R) * TILE; at += ${T}) {
          const int qb = at / TILE, j = at % TILE;
          float sum = 0.0f;
          for (int i = qb * R; i < (qb + 1) * R; i++) sum += probs[i * TP_PROB_STRIDE + j];
          probs[qb * R * TP_PROB_STRIDE + j] = sum;
        }
        __syncthreads();
        // Then along each key block's cells: the (query block, key block) mass.
        for (int at = (int)threadIdx.x; at < (TILE / R) * (TILE / R); at += ${T}) {
          const int qb = at / (TILE / R), kb = at % (TILE / R), column_block = c0 / R + kb;
          if (b0 + qb >= b_end || column_block >= col_blocks) continue;
          float mass = 0.0f;
          for (int j = kb * R; j < (kb + 1) * R; j++) mass += probs[qb * R * TP_PROB_STRIDE + j];
          masses[(long long)qb * col_blocks + column_block] = __float_as_uint(mass);
        }
        // The masses are read before the next tile's copies overwrite them.
        __syncthreads();
      }
    }
    if (pass == 0) {
      // A row's cells are spread over its quad: combine the four running pairs.
#pragma unroll
      for (int h = 0; h < 2; h++) running_quad_combine(row_max[h], row_sum[h]);
    }
  }
}
`;
}
