import { blockReduceCuda, cudaEstimatorThreads } from "./estimate.js";

/**
 * XAttention's selection sizes in CUDA, the step after either mass kernel (./estimate-xattention.ts on CUDA
 * cores, ./estimate-xattention-tensor.ts on tensor cores): a block per head and query block turns the row's
 * masses (float bits, one word per key block) into order keys in place (forced +∞, non-causal −∞) and counts
 * the forced blocks (first, diagonal) plus the fewest candidates, heaviest first, whose mass reaches the need
 * (threshold × total − forced mass). The count is found bit by bit over the candidates' order keys: the
 * largest key T whose candidates at or above it carry the need; then all above T and enough ties at T. The
 * count leaves as the problem's limit, so the shared selection (./select-top.ts, ties to the lower index)
 * sets exactly the blocks it chose.
 * Needs orderKeyCuda in the module.
 */
export function xattentionLimitsCuda(name: string): string {
  const T = cudaEstimatorThreads;
  return `__device__ __forceinline__ float from_order_key(unsigned key) {
  return __uint_as_float((key & 0x80000000u) != 0u ? (key & 0x7fffffffu) : ~key);
}

${blockReduceCuda}
// Candidates (causal, not forced) with a key at or above t (strictly above when strict): their mass and count.
__device__ __forceinline__ void xa_tally(float* partial, const unsigned* keys, int col_blocks, unsigned t, bool strict, float* total_mass, float* count) {
  float m = 0.0f, n = 0.0f;
  for (int c = (int)threadIdx.x; c < col_blocks; c += ${T}) {
    const unsigned key = keys[c];
    const bool candidate = key != STIPPLE_NEG_INF_KEY && key != STIPPLE_POS_INF_KEY;
    if (candidate && (strict ? key > t : key >= t)) {
      m += from_order_key(key);
      n += 1.0f;
    }
  }
  *total_mass = block_reduce(partial, m, false);
  *count = block_reduce(partial, n, false);
}

extern "C" __global__ void __launch_bounds__(${T}) ${name}(
    unsigned* __restrict__ keys, unsigned* __restrict__ limits, int q_len, int k_len, int block, int row_blocks, int col_blocks, float threshold) {
  __shared__ float partial[${T}];
  const int Q = q_len, K = k_len, local = (int)threadIdx.x;
  const int head = (int)blockIdx.z, b = (int)blockIdx.x;
  const long long problem = (long long)head * row_blocks + b;
  unsigned* order = keys + problem * col_blocks;
  const int first = K - Q + b * block;
  const int last = K - Q + min(Q, (b + 1) * block) - 1;
  float total = 0.0f, forced_mass = 0.0f, forced = 0.0f;
  for (int c = local; c < col_blocks; c += ${T}) {
    const float m = __uint_as_float(order[c]);
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
    xa_tally(partial, order, col_blocks, 0u, false, &all_mass, &all_count);
    if (all_mass < need) {
      extra = (unsigned)all_count;
    } else {
      unsigned t = 0u;
      for (int bit = 31; bit >= 0; bit--) {
        const unsigned candidate = t | (1u << bit);
        float m, n;
        xa_tally(partial, order, col_blocks, candidate, false, &m, &n);
        if (m >= need) t = candidate;
      }
      float above_mass, above_count, at_mass, at_count;
      xa_tally(partial, order, col_blocks, t, true, &above_mass, &above_count);
      xa_tally(partial, order, col_blocks, t, false, &at_mass, &at_count);
      const unsigned ties = (unsigned)(at_count - above_count);
      const float tie_mass = from_order_key(t);
      // As WGSL's clamp(wanted, 1, ties): min(max(wanted, 1), ties), in floats so no conversion overflows.
      const float wanted = tie_mass > 0.0f ? ceilf((need - above_mass) / tie_mass) : (float)ties;
      extra = (unsigned)above_count + (unsigned)fminf(fmaxf(wanted, 1.0f), (float)ties);
    }
  }
  if (local == 0) limits[problem] = (unsigned)forced + extra;
}
`;
}
