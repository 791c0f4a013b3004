/**
 * Device top-n selection in CUDA, for the estimators that pick from long score rows (vertical-slash's
 * columns and offsets, XAttention's blocks). The WGSL selection's rules (backends/wgsl/estimate/select-top.ts)
 * and the reference's (ir/estimate/top-n.ts): per problem (one block: a head, or a head's query block), the
 * n largest of `count` order keys become set bits of a runtime input in the packed inputs; ties go to the
 * lower index; keys of −∞ are never chosen, so n is clamped to the keys above it.
 * - up to rankSelectionLimit keys: each thread ranks its own keys against all others and keeps those ranked
 *   below n (no barrier);
 * - longer rows: the n-th largest key is found a byte at a time from the top, as in WGSL: 4 rounds, each a
 *   shared-memory histogram of the next byte over the keys that share the bytes found so far, a suffix sum
 *   over its 256 bins (a thread a bin, 8 doubling steps), and the one bin where the count from the top
 *   reaches the keys still wanted. Then keys above it are set, and keys equal to it in index order until n:
 *   each thread owns a contiguous chunk and an exclusive prefix over the chunks' equal counts gives it its
 *   quota. Bit by bit it was 32 passes over the row and 32 block sums of 9 barriers, for a problem that is
 *   one block (vertical-slash: one a head), so latency is all it costs.
 * Bits go in with atomicOr, since problems of one head share words.
 */
/** Threads per selection block: one per histogram bin of a byte. */
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
  return `extern "C" __global__ void __launch_bounds__(${threads}) ${name}(
    const unsigned* __restrict__ all_keys, unsigned* __restrict__ aux, const unsigned* __restrict__ limits,
    unsigned count, unsigned n_max, unsigned slot, unsigned problems) {
  __shared__ unsigned partial[${threads}];
  // The next byte's counts, a bin a thread (then their suffix sums); the round's byte, and its keys still wanted.
  __shared__ unsigned histogram[256];
  __shared__ unsigned found[2];
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
  // The n-th largest key above −∞, a byte a round. wanted_left: how many keys that share the bytes found so
  // far are still wanted (in round 0 clamped to the keys above −∞: they are all in its histogram).
  unsigned prefix = 0u, prefix_mask = 0u, wanted_left = wanted;
  for (int round = 0; round < 4; round++) {
    const unsigned shift = 24u - 8u * (unsigned)round;
    // The previous round's readers of the bins and of found are done.
    __syncthreads();
    histogram[local] = 0u;
    __syncthreads();
    for (unsigned at = local; at < count; at += ${threads}u) {
      const unsigned key = keys[at];
      if (key > STIPPLE_NEG_INF_KEY && (key & prefix_mask) == prefix) atomicAdd(&histogram[(key >> shift) & 255u], 1u);
    }
    __syncthreads();
    // Thread b's bin, then the suffix sum from b up (Hillis–Steele in place: read, meet, write, meet).
    const unsigned own = histogram[local];
    for (unsigned step = 1u; step < 256u; step <<= 1) {
      const unsigned sum = histogram[local] + (local + step < 256u ? histogram[local + step] : 0u);
      __syncthreads();
      histogram[local] = sum;
      __syncthreads();
    }
    const unsigned from_here = histogram[local], above = from_here - own;
    const unsigned left = round == 0 && histogram[0] < wanted_left ? histogram[0] : wanted_left;
    // left is the same in every thread: nothing wanted (or no key above −∞) ends the problem.
    if (left == 0u) return;
    // Exactly one bin holds the left-th key from the top.
    if (above < left && from_here >= left) {
      found[0] = local;
      found[1] = left - above;
    }
    __syncthreads();
    prefix |= found[0] << shift;
    prefix_mask |= 255u << shift;
    wanted_left = found[1];
  }
  const unsigned threshold = prefix, ties_wanted = wanted_left;
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
