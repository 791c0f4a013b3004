/**
 * Device top-n selection in CUDA, for the estimators that pick from long score rows (vertical-slash's
 * columns and offsets, XAttention's blocks). The WGSL selection's rules (backends/wgsl/estimate/select-top.ts)
 * and the reference's (ir/estimate/top-n.ts): per problem (one block: a head, or a head's query block), the
 * n largest of `count` order keys become set bits of a runtime input in the packed inputs; ties go to the
 * lower index; keys of −∞ are never chosen, so n is clamped to the keys above it.
 * - up to rankSelectionLimit keys: each thread ranks its own keys against all others and keeps those ranked
 *   below n (no barrier);
 * - longer rows: the n-th largest key is found bit by bit (32 counting rounds, each a block sum), then keys
 *   above it are set, and keys equal to it in index order until n: each thread owns a contiguous chunk and
 *   an exclusive prefix over the chunks' equal counts gives it its quota.
 * Bits go in with atomicOr, since problems of one head share words.
 */
export const cudaSelectThreads = 256;
export const cudaRankSelectionLimit = 2048;

/** f32 → u32 with the same order (−0 as +0); −∞ and +∞ map to the two constants. */
export const orderKeyCuda = `#define STIPPLE_NEG_INF_KEY 0x007fffffu
#define STIPPLE_POS_INF_KEY 0xff800000u
__device__ __forceinline__ unsigned order_key(float x) {
  const unsigned bits = __float_as_uint(x == 0.0f ? 0.0f : x);
  return (bits & 0x80000000u) != 0u ? ~bits : (bits | 0x80000000u);
}
`;

/**
 * The selection kernel `name`. `limits` (may be null): each problem keeps at most its own count too, written
 * by an earlier kernel (XAttention's sizes).
 */
export function selectTopCuda(name: string): string {
  const threads = cudaSelectThreads;
  return `// A block sum; every thread gets the result.
__device__ unsigned select_block_sum(unsigned* partial, unsigned value) {
  __syncthreads();
  partial[threadIdx.x] = value;
  for (unsigned stride = ${threads / 2}u; stride > 0u; stride >>= 1) {
    __syncthreads();
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
  }
  __syncthreads();
  return partial[0];
}

// Keys of the problem at or above threshold (strictly above when above is true), over the block.
__device__ unsigned select_count(unsigned* partial, const unsigned* keys, unsigned count, unsigned threshold, bool above) {
  unsigned mine = 0u;
  for (unsigned at = threadIdx.x; at < count; at += ${threads}u) {
    const unsigned key = keys[at];
    mine += (above ? key > threshold : key >= threshold) ? 1u : 0u;
  }
  return select_block_sum(partial, mine);
}

extern "C" __global__ void __launch_bounds__(${threads}) ${name}(
    const unsigned* __restrict__ all_keys, unsigned* __restrict__ aux, const unsigned* __restrict__ limits,
    unsigned count, unsigned n_max, unsigned slot, unsigned problems) {
  __shared__ unsigned partial[${threads}];
  const unsigned problem = blockIdx.x, head = blockIdx.z, local = threadIdx.x;
  const unsigned* keys = all_keys + ((unsigned long long)head * problems + problem) * count;
  unsigned* leaf = aux + aux[4u * slot] + aux[4u * slot + 1u] * head;
  const unsigned limit = limits == nullptr ? n_max : limits[head * problems + problem];
  const unsigned wanted = limit < n_max ? limit : n_max;
  if (count <= ${cudaRankSelectionLimit}u) {
    for (unsigned at = local; at < count; at += ${threads}u) {
      const unsigned key = keys[at];
      if (key == STIPPLE_NEG_INF_KEY) continue;
      unsigned rank = 0u;
      for (unsigned other = 0u; other < count && rank < wanted; other++) {
        const unsigned rival = keys[other];
        rank += (rival > key || (rival == key && other < at)) ? 1u : 0u;
      }
      if (rank < wanted) {
        const unsigned bit = problem * count + at;
        atomicOr(leaf + bit / 32u, 1u << (bit % 32u));
      }
    }
    return;
  }
  const unsigned finite = select_count(partial, keys, count, STIPPLE_NEG_INF_KEY, true);
  const unsigned n = wanted < finite ? wanted : finite;
  if (n == 0u) return;
  unsigned threshold = 0u;
  for (int bit = 31; bit >= 0; bit--) {
    const unsigned candidate = threshold | (1u << bit);
    if (select_count(partial, keys, count, candidate, false) >= n) threshold = candidate;
  }
  const unsigned ties_wanted = n - select_count(partial, keys, count, threshold, true);
  // Each thread's contiguous chunk, its keys equal to the threshold, and the ties before it.
  const unsigned chunk = (count + ${threads - 1}u) / ${threads}u;
  const unsigned first = local * chunk < count ? local * chunk : count;
  const unsigned end = first + chunk < count ? first + chunk : count;
  unsigned ties = 0u;
  for (unsigned at = first; at < end; at++) ties += keys[at] == threshold ? 1u : 0u;
  __syncthreads();
  partial[local] = ties;
  __syncthreads();
  if (local == 0u) {
    unsigned before = 0u;
    for (unsigned t = 0u; t < ${threads}u; t++) {
      const unsigned own = partial[t];
      partial[t] = before;
      before += own;
    }
  }
  __syncthreads();
  unsigned quota = ties_wanted > partial[local] ? ties_wanted - partial[local] : 0u;
  for (unsigned at = first; at < end; at++) {
    const unsigned key = keys[at];
    bool keep = key > threshold;
    if (key == threshold && quota > 0u) {
      keep = true;
      quota--;
    }
    if (keep) {
      const unsigned bit = problem * count + at;
      atomicOr(leaf + bit / 32u, 1u << (bit % 32u));
    }
  }
}
`;
}
