import { cudaEstimatorThreads } from "./estimate.js";

/**
 * A block's 64 × 64 product A·Bᵀ on tensor cores, for the estimators that score many (row, column) pairs at
 * once (XAttention's anti-diagonal cells, vertical-slash's last rows against every key): A and B are 64 rows
 * each of a reduction of length `reduction`, gathered from global memory by the kernel's own rule, 8
 * elements (16 bytes) a piece. The reduction goes KC elements a step (64 where it divides, else 32 or 16),
 * the next step's chunks copied by cp.async into the other of two stages while the current one multiplies;
 * each of the 4 warps takes 16 rows of A against all 64 of B, as mma.sync m16n8k16 with f32 accumulators
 * acc[8][4] (octet n of B's rows, the C fragment's element e: row g (+ 8 from e = 2), column 2 quad + e % 2).
 * Between products the stages' memory may hold a kernel's own floats, [64][TP_PROB_STRIDE] (tp_floats).
 * The kernel provides tensorCoreCuda's intrinsics, `warp` and `lane`, and 128 threads a block.
 */
export interface TileProduct {
  /** Constants and the shared memory, at the kernel's start. */
  readonly prologue: string;
  /** The product into `float acc[8][4]`; every thread of the block runs it (it holds barriers). */
  readonly loop: string;
}

/**
 * Device functions for a product's softmax statistics: a running (max, sum) folds in one value, and the
 * four lanes of a quad (which share the C fragment's rows) combine theirs; every lane gets the result.
 * Once per module (the estimators' modules print it before their kernels).
 */
export const runningSoftmaxCuda = `// Folds x into a running (max, sum).
__device__ __forceinline__ void running_fold(float& max_so_far, float& sum, float x) {
  const float grown = fmaxf(max_so_far, x);
  sum = sum * expf(max_so_far - grown) + expf(x - grown);
  max_so_far = grown;
}

// The running (max, sum) of a row spread over a quad's four lanes, combined (warp-uniform: every lane calls it).
__device__ __forceinline__ void running_quad_combine(float& max_so_far, float& sum) {
  for (int offset = 1; offset < 4; offset <<= 1) {
    const float other_max = __shfl_xor_sync(0xffffffffu, max_so_far, offset), other_sum = __shfl_xor_sync(0xffffffffu, sum, offset);
    const float grown = fmaxf(max_so_far, other_max);
    sum = sum * expf(max_so_far - grown) + other_sum * expf(other_max - grown);
    max_so_far = grown;
  }
}
`;

/** Reduction elements staged a step. */
const tileProductChunk = (reduction: number): number => (reduction % 64 === 0 ? 64 : reduction % 32 === 0 ? 32 : 16);

/**
 * `piece` is C++ statements that, given `bool from_b`, `int i` (the row, 0–63) and `int r` (the piece's first
 * reduction element, a multiple of 8), set `const unsigned short* src` and `bool valid` (false: zeros; src
 * must still be an address).
 */
export function tileProductCuda(reduction: number, piece: string): TileProduct {
  const KC = tileProductChunk(reduction), T = cudaEstimatorThreads;
  const stagedHalves = 4 * 64 * (KC + 8), probabilityHalves = 2 * 64 * 65;
  return {
    prologue: `  // Two stages of the A and B chunks, [row][reduction] with rows padded by 8 halves (ldmatrix's row
  // addresses in distinct banks); between products the same memory may hold floats, [64][TP_PROB_STRIDE].
  constexpr int TP_KC = ${KC}, TP_STRIDE = TP_KC + 8, TP_STEPS = ${reduction / KC}, TP_PROB_STRIDE = 65;
  __shared__ __align__(16) unsigned short tp_smem[${Math.max(stagedHalves, probabilityHalves)}];
  float* const tp_floats = reinterpret_cast<float*>(tp_smem);
  // Step \`step\`'s chunks of A and B into stage \`buffer\`, one commit group.
  auto tp_stage = [&](int step, int buffer) {
    unsigned short* const a_s = tp_smem + buffer * 2 * 64 * TP_STRIDE;
    unsigned short* const b_s = a_s + 64 * TP_STRIDE;
    for (int p = (int)threadIdx.x; p < 2 * 64 * (TP_KC / 8); p += ${T}) {
      const bool from_b = p >= 64 * (TP_KC / 8);
      const int i = p % (64 * (TP_KC / 8)) / (TP_KC / 8), part = p % (TP_KC / 8), r = step * TP_KC + part * 8;
      const unsigned short* src;
      bool valid;
${piece}
      copy_async_16((from_b ? b_s : a_s) + i * TP_STRIDE + part * 8, src, valid);
    }
    copy_async_commit();
  };
`,
    loop: `#pragma unroll
    for (int n = 0; n < 8; n++) { acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f; }
    tp_stage(0, 0);
    for (int step = 0; step < TP_STEPS; step++) {
      if (step + 1 < TP_STEPS) {
        tp_stage(step + 1, (step + 1) & 1);
        copy_async_wait<1>();
      } else {
        copy_async_wait<0>();
      }
      __syncthreads();
      const unsigned short* const a_s = tp_smem + (step & 1) * 2 * 64 * TP_STRIDE;
      const unsigned short* const b_s = a_s + 64 * TP_STRIDE;
#pragma unroll
      for (int kc = 0; kc < TP_KC / 16; kc++) {
        unsigned a[4];
        ldmatrix_x4(a, a_s + (warp * 16 + lane % 8 + 8 * ((lane / 8) & 1)) * TP_STRIDE + kc * 16 + 8 * (lane / 16));
#pragma unroll
        for (int n = 0; n < 8; n += 2) {
          // B's octets n and n + 1, columns kc · 16 .. + 15: four 8 × 8 matrices.
          unsigned b[4];
          ldmatrix_x4(b, b_s + ((n + lane / 16) * 8 + lane % 8) * TP_STRIDE + kc * 16 + 8 * ((lane / 8) & 1));
          mma16816(acc[n], a, b[0], b[1]);
          mma16816(acc[n + 1], a, b[2], b[3]);
        }
      }
      // Every warp is done with this stage before a later step's copies overwrite it.
      __syncthreads();
    }
`,
  };
}
