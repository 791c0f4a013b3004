/** Threads per combine block (one per query row). */
export const cudaCombineThreads = 128;

/** The combine kernel's entry point for a head dim. */
export const combineName = (headDim: number): string => `stipple_split_combine_d${headDim}`;

/**
 * Split-K's combine step in CUDA (the WGSL one's rules, backends/wgsl/split-combine.ts): per head and row,
 * lse = log Σ exp(lse_s) and out = Σ exp(lse_s − lse) · out_s over the splits' partials, each normalised by
 * its own sum. Splits that kept nothing (lse −∞) weigh 0; a row no split kept gives 0 and −∞, as unsplit
 * kernels do. Plain C++ over floats, so a test runs it on the host too.
 *
 * Parameters: partial out [splits, H, Q, D] and lse [splits, H, Q] (f32), out [H, Q, D], lse [H, Q], the
 * heads the launch serves, Q, H, splits. Grid: (⌈Q / 128⌉, 1, heads served).
 */
export function emitSplitCombineCuda(headDim: number): string {
  return `// Stipple split-K combine, head dim ${headDim}: generated, do not edit.
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
constexpr int D = ${headDim};

extern "C" __global__ void __launch_bounds__(${cudaCombineThreads}) ${combineName(headDim)}(
    const float* __restrict__ part_out, const float* __restrict__ part_lse, float* __restrict__ out, float* __restrict__ lse,
    const int* __restrict__ head_list, int q_len, int heads, int splits) {
  const int row = (int)(blockIdx.x * ${cudaCombineThreads}u + threadIdx.x);
  if (row >= q_len) return;
  const long long at = (long long)head_list[blockIdx.z] * q_len + row;
  const long long stride = (long long)heads * q_len;
  float best = -INFINITY;
  for (int s = 0; s < splits; s++) best = fmaxf(best, part_lse[s * stride + at]);
  if (best == -INFINITY) {
    for (int d = 0; d < D; d++) out[at * D + d] = 0.0f;
    lse[at] = -INFINITY;
    return;
  }
  float total = 0.0f;
  for (int s = 0; s < splits; s++) {
    const float l = part_lse[s * stride + at];
    if (l != -INFINITY) total += expf(l - best);
  }
  for (int d = 0; d < D; d++) {
    float sum = 0.0f;
    for (int s = 0; s < splits; s++) {
      const float l = part_lse[s * stride + at];
      if (l != -INFINITY) sum += expf(l - best) * part_out[(s * stride + at) * D + d];
    }
    out[at * D + d] = sum / total;
  }
  lse[at] = best + logf(total);
}
`;
}
