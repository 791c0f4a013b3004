import { blockReduceCuda, clearInputCuda, cudaEstimatorThreads } from "./estimate.js";
import { integerPreludeCuda, tensorCoreCuda } from "./prelude.js";
import { runningSoftmaxCuda, tileProductCuda } from "./tile-product.js";
import type { CudaElement } from "./schedule.js";
import { orderKeyCuda, selectTopCuda } from "./select-top.js";

/** The vertical-slash estimator's entry points for an element type and head dim. */
export const verticalSlashKernels = (element: CudaElement, headDim: number) => ({
  tiles: `stipple_vs_tiles_${element}_d${headDim}`,
  stats: `stipple_vs_stats_${element}_d${headDim}`,
  scores: `stipple_vs_scores_${element}_d${headDim}`,
  clear: `stipple_vs_clear_${element}_d${headDim}`,
  select: `stipple_vs_select_${element}_d${headDim}`,
}) as const;

/** The most scratch one chunk of heads takes on CUDA: at 1M keys and 64 rows, 28 MiB a head, so every head of 32 at once. */
export const verticalSlashScratchBytes = 2 ** 30;

/** Keys a tile of the logits: the tile product's 64 columns. */
export const verticalSlashTileKeys = 64;

/**
 * The scratch (4-byte words) a head takes, for `rows` last rows and `keys` keys: each row's (max, sum) per key
 * tile and overall, the column sums per row tile and key, the diagonal sums (doubles) per row tile, key tile
 * and the 127 offsets they share (padded to 128).
 */
export function verticalSlashScratchCuda(rows: number, keys: number): { parts: number; stats: number; columns: number; diagonals: number; tiles: number; rowTiles: number } {
  const tiles = Math.max(1, Math.ceil(keys / verticalSlashTileKeys)), rowTiles = Math.max(1, Math.ceil(rows / 64));
  return { parts: 2 * rows * tiles, stats: 2 * rows, columns: rowTiles * keys, diagonals: 2 * rowTiles * tiles * 128, tiles, rowTiles };
}

/** Heads a pass over the scratch takes within `budgetBytes` (at least one: a larger head runs alone). */
export function verticalSlashHeadChunkCuda(heads: number, rows: number, keys: number, budgetBytes = verticalSlashScratchBytes): number {
  const s = verticalSlashScratchCuda(rows, keys);
  return Math.max(1, Math.min(heads, Math.floor(budgetBytes / (4 * (s.parts + s.stats + s.columns + s.diagonals)))));
}

/**
 * MInference's vertical-slash estimator in CUDA (reference: ir/estimate/vertical-slash.ts; the WGSL kernels'
 * rules, backends/wgsl/estimate/vertical-slash.ts), before the shared top-n selection (./select-top.ts). The
 * logits of the last `rows` rows against every key are a product on tensor cores (./tile-product.ts): a
 * block per 64 rows, 64 keys and head (every key tile of every head at once). No logit or probability is
 * kept: the block computes its tile twice.
 * 1. tiles, pass 0: each row's running max and sum over the tile's causal keys, per (row, key tile);
 * 2. stats: a block per row and head combines them: the row's max and softmax sum;
 * 3. tiles, pass 1: the same product again, its probabilities in shared memory; then each column's sum over
 *    the block's rows (one thread a key) and each diagonal's (one thread for each of the 127 offsets the
 *    tile holds), into scratch: every sum is one block's, in a fixed order;
 * 4. scores: one thread per key and head: the column's sum over the row tiles, and the sum of offset o
 *    (position − key) over the row tiles and the one or two key tiles that hold it, as order keys; the
 *    first columns and the near offsets are forced (+∞). A column's terms are summed in the reference's
 *    order (rows up), each row tile's sum then added in order, the same grouping for every column; a
 *    diagonal's grouping depends on where it crosses a tile edge, so its sums are doubles: terms of one
 *    magnitude (a flat softmax, whose equal offsets must tie exactly for the tie rule) then add exactly,
 *    in any grouping;
 * 5. clear, then select: the top vertical_size columns and slash_size offsets into the packed inputs.
 * The first version computed the logits on CUDA cores into a [rows][K] float scratch that the softmax read
 * three times and wrote again and the scores read twice: seven passes over 256 bytes a key (at 64 rows),
 * where this reads K twice (2D bytes a key) and keeps 28 bytes a key of scratch (at 64 rows).
 */
export function emitVerticalSlashCuda(element: CudaElement, headDim: number): string {
  const names = verticalSlashKernels(element, headDim);
  const T = cudaEstimatorThreads;
  const D = headDim;
  // A: the last rows (r0: the block's first); B: the tile's keys (k0: its first).
  const product = tileProductCuda(D, `      if (!from_b) {
        valid = r0 + i < rows;
        src = q_last + (valid ? (long long)(r0 + i) * ${D} + r : 0);
      } else {
        valid = k0 + i < K;
        src = k_head + (valid ? (long long)(k0 + i) * ${D} + r : 0);
      }`);
  return `// Stipple estimator: vertical-slash (${element} q and k, head dim ${D}), generated, do not edit.
${integerPreludeCuda}${tensorCoreCuda(element)}${orderKeyCuda}${runningSoftmaxCuda}
// Below every logit: the running max of a row with no key yet.
#define VS_NO_LOGIT (-3.0e38f)

// Four blocks a multiprocessor (as XAttention's product): ptxas gets up to 128 registers.
extern "C" __global__ void __launch_bounds__(${T}, 4) ${names.tiles}(
    const unsigned short* __restrict__ q_in, const unsigned short* __restrict__ k_in, float* __restrict__ parts, const float* __restrict__ stats,
    float* __restrict__ column_parts, double* __restrict__ diagonal_parts, int q_len, int k_len, int heads, int kv_heads, int rows, int tiles, int row_tiles,
    float scale, int head0, int pass) {
  const int Q = q_len, K = k_len;
  const int t = (int)blockIdx.x, row_tile = (int)blockIdx.y, z = (int)blockIdx.z, head = head0 + z, kv_head = head * kv_heads / heads;
  const int warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32, g = lane / 4, quad = lane % 4;
  const int r0 = row_tile * 64, k0 = t * ${verticalSlashTileKeys};
  // Last row r is query row Q - rows + r, at position K - rows + r.
  const unsigned short* const q_last = q_in + ((long long)head * Q + Q - rows) * ${D};
  const unsigned short* const k_head = k_in + (long long)kv_head * K * ${D};
${product.prologue}  float acc[8][4];
${product.loop}  // This thread's two rows (g and g + 8 of its warp's sixteen): pass 0 folds its keys into a running max and
  // sum; pass 1 reads the rows' max and sum.
  float row_max[2] = {VS_NO_LOGIT, VS_NO_LOGIT}, row_sum[2] = {0.0f, 0.0f};
  if (pass == 1) {
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int r = r0 + warp * 16 + g + 8 * h;
      if (r < rows) {
        row_max[h] = stats[2 * ((long long)z * rows + r)];
        row_sum[h] = stats[2 * ((long long)z * rows + r) + 1];
      }
    }
  }
#pragma unroll
  for (int n = 0; n < 8; n++) {
#pragma unroll
    for (int e = 0; e < 4; e++) {
      const int i = warp * 16 + g + 8 * (e / 2), j = n * 8 + 2 * quad + e % 2;
      const int r = r0 + i, key = k0 + j;
      const bool causal = r < rows && key < K && key <= K - rows + r;
      const float logit = acc[n][e] * scale;
      if (pass == 0) {
        if (causal) running_fold(row_max[e / 2], row_sum[e / 2], logit);
      } else {
        tp_floats[i * TP_PROB_STRIDE + j] = causal ? expf(logit - row_max[e / 2]) / row_sum[e / 2] : 0.0f;
      }
    }
  }
  if (pass == 0) {
    // A row's keys are spread over its quad: combine the four running pairs; the quad's first lane writes them.
#pragma unroll
    for (int h = 0; h < 2; h++) {
      running_quad_combine(row_max[h], row_sum[h]);
      const int r = r0 + warp * 16 + g + 8 * h;
      if (quad == 0 && r < rows) {
        parts[2 * (((long long)z * rows + r) * tiles + t)] = row_max[h];
        parts[2 * (((long long)z * rows + r) * tiles + t) + 1] = row_sum[h];
      }
    }
    return;
  }
  __syncthreads();
  // Keys 0 .. 63 of the tile: their column sums; then the tile's 127 diagonals d = i - j + 63 (offset
  // K - rows + r0 - k0 + i - j): their sums over the rows that hold them.
  for (int at = (int)threadIdx.x; at < 64 + 127; at += ${T}) {
    float sum = 0.0f;
    if (at < 64) {
      if (k0 + at >= K) continue;
      for (int i = 0; i < 64; i++) sum += tp_floats[i * TP_PROB_STRIDE + at];
      column_parts[((long long)z * row_tiles + row_tile) * K + k0 + at] = sum;
    } else {
      const int d = at - 64;
      double diagonal = 0.0;
      for (int i = max(0, d - 63); i <= min(63, d); i++) diagonal += tp_floats[i * TP_PROB_STRIDE + i - d + 63];
      diagonal_parts[(((long long)z * row_tiles + row_tile) * tiles + t) * 128 + d] = diagonal;
    }
  }
}

${blockReduceCuda}
extern "C" __global__ void __launch_bounds__(${T}) ${names.stats}(const float* __restrict__ parts, float* __restrict__ stats, int rows, int tiles) {
  __shared__ float partial[${T}];
  const int z = (int)blockIdx.z, r = (int)blockIdx.x;
  const float* const part = parts + 2 * ((long long)z * rows + r) * tiles;
  float m = VS_NO_LOGIT;
  for (int t = (int)threadIdx.x; t < tiles; t += ${T}) m = fmaxf(m, part[2 * t]);
  const float row_max = block_reduce(partial, m, true);
  float sum = 0.0f;
  for (int t = (int)threadIdx.x; t < tiles; t += ${T}) sum += part[2 * t + 1] * expf(part[2 * t] - row_max);
  const float row_sum = block_reduce(partial, sum, false);
  if (threadIdx.x == 0) {
    stats[2 * ((long long)z * rows + r)] = row_max;
    stats[2 * ((long long)z * rows + r) + 1] = row_sum;
  }
}

extern "C" __global__ void __launch_bounds__(${T}) ${names.scores}(
    const float* __restrict__ column_parts, const double* __restrict__ diagonal_parts, unsigned* __restrict__ columns, unsigned* __restrict__ diagonals,
    int k_len, int rows, int tiles, int row_tiles, int first_columns, int near_diagonals, int head0) {
  const int K = k_len, at = (int)(blockIdx.x * ${T}u + threadIdx.x);
  const int z = (int)blockIdx.z, head = head0 + z;
  if (at >= K) return;
  float column = 0.0f;
  double diagonal = 0.0;
  for (int row_tile = 0; row_tile < row_tiles; row_tile++) {
    column += column_parts[((long long)z * row_tiles + row_tile) * K + at];
    // Offset at is diagonal at - base + 64 t + 63 of key tile t, base = K - rows + 64 row_tile: one or two tiles.
    const int base = K - rows + 64 * row_tile;
    const int t_lo = max(0, ceil_div(base - at - 63, 64)), t_hi = min(tiles - 1, floor_div(base - at + 63, 64));
    for (int t = t_lo; t <= t_hi; t++) diagonal += diagonal_parts[(((long long)z * row_tiles + row_tile) * tiles + t) * 128 + at - base + 64 * t + 63];
  }
  columns[(long long)head * K + at] = at < first_columns ? STIPPLE_POS_INF_KEY : order_key(column);
  diagonals[(long long)head * K + at] = at < near_diagonals ? STIPPLE_POS_INF_KEY : order_key((float)diagonal);
}

${clearInputCuda(names.clear)}
${selectTopCuda(names.select)}`;
}
