// heads 0, 1
// Stipple attention kernel a_shape_sparse: generated, do not edit.
// f16 q/k/v, f32 accumulation on tensor cores (mma.sync m16n8k16), head dim 64, 64 query rows × 64 keys per tile.
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

__device__ __forceinline__ int floor_div(int a, int b) {
  const int t = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? t - 1 : t;
}

__device__ __forceinline__ int floor_mod(int a, int b) { return a - b * floor_div(a, b); }

__device__ __forceinline__ int ceil_div(int a, int b) { return -floor_div(-a, b); }

__device__ __forceinline__ unsigned shared_address(const void* p) {
  unsigned address;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(address) : "l"(p));
  return address;
}

__device__ __forceinline__ void ldmatrix_x4(unsigned* r, const unsigned short* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(p)));
}

// Two 8 × 8 matrices, at the row addresses of lanes 0–15 (the others' are not read).
__device__ __forceinline__ void ldmatrix_x2(unsigned* r, const unsigned short* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];"
               : "=r"(r[0]), "=r"(r[1]) : "r"(shared_address(p)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(unsigned* r, const unsigned short* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(p)));
}

// Two f32 as one register of 16-bit values, lo in the low half.
__device__ __forceinline__ unsigned pack2(float lo, float hi) {
  unsigned r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

// 16 bytes from global to shared memory, asynchronously: they land by the copy_async_wait that covers
// their commit group. Zeros when !valid (a source size of 0 reads nothing; src must still be an address).
__device__ __forceinline__ void copy_async_16(unsigned short* dst, const unsigned short* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(shared_address(dst)), "l"(src), "r"(valid ? 16 : 0) : "memory");
}

// Closes this thread's copies issued since the last commit into a group.
__device__ __forceinline__ void copy_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

// Waits until at most N of this thread's committed groups are still in flight (then a barrier makes every
// thread's landed copies visible to the block).
template <int N>
__device__ __forceinline__ void copy_async_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }

// c (16 × 8, f32) += a (16 × 16) · b (16 × 8), f16 operands, one warp.
__device__ __forceinline__ void mma16816(float* c, const unsigned* a, unsigned b0, unsigned b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}


constexpr int BM = 64;
constexpr int BN = 64;
constexpr int D = 64;
// Shared rows are padded by 8 halves (16 bytes) so ldmatrix's eight row addresses fall in different banks.
constexpr int STRIDE = D + 8;
constexpr float SCALE_LOG2 = 0.1803368777036667f;

extern "C" __global__ void __launch_bounds__(128, 2) a_shape_sparse(
    const unsigned short* __restrict__ q_in, const unsigned short* __restrict__ k_in, const unsigned short* __restrict__ v_in,
    float* __restrict__ out, float* __restrict__ lse, const int* __restrict__ head_list,
    int q_len, int k_len, int heads, int kv_heads, int layers, int layer, int splits, int pack) {
  __shared__ __align__(16) unsigned short k_s[BN * STRIDE];
  __shared__ __align__(16) unsigned short v_s[BN * STRIDE];
  const int Q_LEN = q_len, K_LEN = k_len, HEADS = heads, KV_HEADS = kv_heads, LAYERS = layers, LAYER = layer;
  (void)LAYERS; (void)LAYER;
  const int split = blockIdx.y;
  // The pack heads of block z share one KV head (the runtime packs only such heads).
  const int kv_head = head_list[blockIdx.z * pack] * KV_HEADS / HEADS;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, quad = lane % 4;
  const auto tile = (int)blockIdx.x;
  const auto s0 = tile * BM;
  const auto s1 = min(s0 + BM, pack * Q_LEN);
  const auto spans = s0 / Q_LEN != (s1 - 1) / Q_LEN;
  // Positions of the tile's first and last query rows.
  const auto first = K_LEN - Q_LEN + ((spans) ? (0) : (s0 % Q_LEN));
  const auto last = K_LEN - Q_LEN + ((spans) ? (Q_LEN - 1) : ((s1 - 1) % Q_LEN));
  // A slot's row (Q_LEN past the pack's rows) and head: slot s is row s mod Q of the pack's head ⌊s / Q⌋.
  auto row_of = [&](int slot) -> int { return slot >= 0 && slot < pack * Q_LEN ? slot % Q_LEN : Q_LEN; };
  auto head_of = [&](int slot) -> int { return head_list[blockIdx.z * pack + min(max(slot / Q_LEN, 0), pack - 1)]; };
  // This thread's two rows (g and g + 8 of its warp's sixteen), their heads and positions.
  const int slot0 = tile * BM + warp * 16 + g;
  const int slot1 = tile * BM + warp * 16 + g + 8;
  const int row0 = row_of(slot0), row1 = row_of(slot1);
  const int head0 = head_of(slot0), head1 = head_of(slot1);
  const int pos0 = K_LEN - Q_LEN + row0, pos1 = K_LEN - Q_LEN + row1;

  auto keeps = [&](int q, int k, int head) -> bool {
    const int i = q - (K_LEN - Q_LEN);
    (void)i;
    return ((k <= q) && ((k < 128) || ((q - k) < 3968)));
  };

  // Q tile → registers (A fragments), staged through k_s.
  for (int c = threadIdx.x; c < BM * D / 8; c += 128) {
    const int r = c / (D / 8), col = (c % (D / 8)) * 8;
    const int slot = tile * BM + r;
    const int qrow = row_of(slot);
    uint4 value = make_uint4(0, 0, 0, 0);
    if (qrow < Q_LEN) value = *reinterpret_cast<const uint4*>(q_in + ((long long)head_of(slot) * Q_LEN + qrow) * D + col);
    *reinterpret_cast<uint4*>(k_s + r * STRIDE + col) = value;
  }
  __syncthreads();
  unsigned q_frag[D / 16][4];
#pragma unroll
  for (int kc = 0; kc < D / 16; kc++) {
    ldmatrix_x4(q_frag[kc], k_s + (warp * 16 + lane % 8 + 8 * ((lane / 8) & 1)) * STRIDE + kc * 16 + 8 * (lane / 16));
  }

  float o[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; n++) { o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f; }
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

  // The previous visit's P as A fragments (two key octets per 16-key chunk), folded in by the next visit
  // (or the flush after the loop) once its V has landed: see stageTiles in backends/cuda/emit.ts.
  unsigned p_prev[BN / 16][4];
  bool pv_pending = false;
  auto pv = [&]() {
#pragma unroll
    for (int c = 0; c < BN / 16; c++) {
#pragma unroll
      for (int n = 0; n < D / 8; n += 2) {
        unsigned b[4];
        ldmatrix_x4_trans(b, v_s + (c * 16 + lane % 8 + 8 * ((lane / 8) & 1)) * STRIDE + n * 8 + 8 * (lane / 16));
        mma16816(o[n], p_prev[c], b[0], b[1]);
        mma16816(o[n + 1], p_prev[c], b[2], b[3]);
      }
    }
    pv_pending = false;
  };
  // Visits key tile t, or lattice tile t (keys gathered), folding it into the online softmax.
  auto visit = [&](int t, bool full, bool on_lattice, int o_lattice, int gathered) {
    (void)gathered;
    auto key_of = [&](int j) -> int { return t * BN + j; };
    copy_async_wait<0>();  // the previous visit's V has landed (this thread's copies)
    __syncthreads();       // every thread's; and the previous scores are done with k_s
    auto stage = [&](unsigned short* tile, const unsigned short* rows) {
      for (int c = threadIdx.x; c < BN * D / 8; c += 128) {
        const int j = c / (D / 8), col = (c % (D / 8)) * 8;
        const int key = key_of(j);
        const bool valid = key >= 0 && key < K_LEN;
        copy_async_16(tile + j * STRIDE + col, rows + (valid ? ((long long)kv_head * K_LEN + key) * D + col : 0), valid);
      }
      copy_async_commit();
    };
    stage(k_s, k_in);
    if (pv_pending) pv();
    __syncthreads();       // the previous P·V is done with v_s
    stage(v_s, v_in);
    copy_async_wait<1>();  // this thread's K copies have landed
    __syncthreads();       // and every thread's

    // S = Q·Kᵀ for this warp's 16 rows × BN keys.
    float s[BN / 8][4];
#pragma unroll
    for (int n = 0; n < BN / 8; n++) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
      for (int kc = 0; kc + 1 < D / 16; kc += 2) {
        unsigned b[4];
        ldmatrix_x4(b, k_s + (n * 8 + lane % 8) * STRIDE + kc * 16 + 8 * (lane / 8));
        mma16816(s[n], q_frag[kc], b[0], b[1]);
        mma16816(s[n], q_frag[kc + 1], b[2], b[3]);
      }
    }
    // Scale; mask partial tiles (pattern), and any tile that reaches past the last key (bounds).
    const bool past_end = on_lattice || gathered > 0 || t * BN + BN > K_LEN;
#pragma unroll
    for (int n = 0; n < BN / 8; n++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int key = key_of(n * 8 + 2 * quad + (e & 1));
        const int pos = e < 2 ? pos0 : pos1;
        bool kept = true;
        if (!full) kept = key >= 0 && key < K_LEN && keeps(pos, key, e < 2 ? head0 : head1);
        else if (past_end) kept = key >= 0 && key < K_LEN;
        s[n][e] = kept ? s[n][e] * SCALE_LOG2 : -INFINITY;
      }
    }
    // Online softmax over the two rows: new maxima (quad-reduced), rescale, exponentiate.
    float tile_max0 = -INFINITY, tile_max1 = -INFINITY;
#pragma unroll
    for (int n = 0; n < BN / 8; n++) {
      tile_max0 = fmaxf(tile_max0, fmaxf(s[n][0], s[n][1]));
      tile_max1 = fmaxf(tile_max1, fmaxf(s[n][2], s[n][3]));
    }
#pragma unroll
    for (int offset = 1; offset < 4; offset *= 2) {
      tile_max0 = fmaxf(tile_max0, __shfl_xor_sync(0xffffffffu, tile_max0, offset));
      tile_max1 = fmaxf(tile_max1, __shfl_xor_sync(0xffffffffu, tile_max1, offset));
    }
    const float new0 = fmaxf(m0, tile_max0), new1 = fmaxf(m1, tile_max1);
    // A row that has kept nothing yet stays at -inf; subtracting 0 then keeps exp2 at 0 instead of NaN.
    const float base0 = new0 == -INFINITY ? 0.0f : new0, base1 = new1 == -INFINITY ? 0.0f : new1;
    const float alpha0 = exp2f(m0 - base0), alpha1 = exp2f(m1 - base1);
    m0 = new0;
    m1 = new1;
    l0 *= alpha0;
    l1 *= alpha1;
#pragma unroll
    for (int n = 0; n < D / 8; n++) { o[n][0] *= alpha0; o[n][1] *= alpha0; o[n][2] *= alpha1; o[n][3] *= alpha1; }
#pragma unroll
    for (int n = 0; n < BN / 8; n++) {
      s[n][0] = exp2f(s[n][0] - base0); s[n][1] = exp2f(s[n][1] - base0);
      s[n][2] = exp2f(s[n][2] - base1); s[n][3] = exp2f(s[n][3] - base1);
      l0 += s[n][0] + s[n][1];
      l1 += s[n][2] + s[n][3];
    }
    // P as A fragments, folded in at the next visit (its V is still in flight).
#pragma unroll
    for (int c = 0; c < BN / 16; c++) {
      p_prev[c][0] = pack2(s[2 * c][0], s[2 * c][1]);
      p_prev[c][1] = pack2(s[2 * c][2], s[2 * c][3]);
      p_prev[c][2] = pack2(s[2 * c + 1][0], s[2 * c + 1][1]);
      p_prev[c][3] = pack2(s[2 * c + 1][2], s[2 * c + 1][3]);
    }
    pv_pending = true;
  };

  // region 0
  auto r0_lo = 1; auto r0_hi = 0; auto r0_full_lo = 1; auto r0_full_hi = 0;
  {
    auto row_lo = first;
    auto row_hi = last;
    if ((K_LEN + (-1)) < 0) { row_lo = row_hi + 1; }
    row_lo = max(row_lo, ceil_div(0, 1));
    if (row_lo <= row_hi) {
      auto min_lo = min(0, 0);
      
      auto max_hi = max(min(min((K_LEN + (-1)), row_lo), 127), min(min((K_LEN + (-1)), row_hi), 127));
      { const auto c = floor_div((-1 * K_LEN + 1), -1); if (row_lo < c && c < row_hi) { max_hi = max(max_hi, min(min((K_LEN + (-1)), c), 127)); } if (row_lo < c + 1 && c + 1 < row_hi) { max_hi = max(max_hi, min(min((K_LEN + (-1)), (c + 1)), 127)); } }
      { const auto c = floor_div(127, 1); if (row_lo < c && c < row_hi) { max_hi = max(max_hi, min(min((K_LEN + (-1)), c), 127)); } if (row_lo < c + 1 && c + 1 < row_hi) { max_hi = max(max_hi, min(min((K_LEN + (-1)), (c + 1)), 127)); } }
      r0_lo = floor_div(min_lo, 64);
      r0_hi = floor_div(max_hi, 64);
      if (row_lo == first && row_hi == last) {
        const auto max_lo = max(0, 0);
        const auto min_hi = min(min(min((K_LEN + (-1)), row_lo), 127), min(min((K_LEN + (-1)), row_hi), 127));
        if (max_lo <= min_hi) {
          r0_full_lo = ceil_div(max_lo, 64);
          r0_full_hi = ((min_hi >= K_LEN - 1) ? (floor_div(K_LEN - 1, 64)) : (floor_div(min_hi + 1, 64) - 1));
        }
      }
    }
  }
  // region 1
  auto r1_lo = 1; auto r1_hi = 0; auto r1_full_lo = 1; auto r1_full_hi = 0;
  {
    auto row_lo = first;
    auto row_hi = last;
    if ((K_LEN + (-1)) < 0) { row_lo = row_hi + 1; }
    row_lo = max(row_lo, ceil_div(0, 1));
    row_hi = min(row_hi, floor_div((K_LEN + 3966), 1));
    if (row_lo <= row_hi) {
      auto min_lo = min(max(0, (row_lo + (-3967))), max(0, (row_hi + (-3967))));
      { const auto c = floor_div((-3967), -1); if (row_lo < c && c < row_hi) { min_lo = min(min_lo, max(0, (c + (-3967)))); } if (row_lo < c + 1 && c + 1 < row_hi) { min_lo = min(min_lo, max(0, ((c + 1) + (-3967)))); } }
      auto max_hi = max(min((K_LEN + (-1)), row_lo), min((K_LEN + (-1)), row_hi));
      { const auto c = floor_div((-1 * K_LEN + 1), -1); if (row_lo < c && c < row_hi) { max_hi = max(max_hi, min((K_LEN + (-1)), c)); } if (row_lo < c + 1 && c + 1 < row_hi) { max_hi = max(max_hi, min((K_LEN + (-1)), (c + 1))); } }
      r1_lo = floor_div(min_lo, 64);
      r1_hi = floor_div(max_hi, 64);
      if (row_lo == first && row_hi == last) {
        const auto max_lo = max(max(0, (row_lo + (-3967))), max(0, (row_hi + (-3967))));
        const auto min_hi = min(min((K_LEN + (-1)), row_lo), min((K_LEN + (-1)), row_hi));
        if (max_lo <= min_hi) {
          r1_full_lo = ceil_div(max_lo, 64);
          r1_full_hi = ((min_hi >= K_LEN - 1) ? (floor_div(K_LEN - 1, 64)) : (floor_div(min_hi + 1, 64) - 1));
        }
      }
    }
  }
  const auto count0 = max(0, r0_hi - max(r0_lo, 0) + 1);
  const auto count1 = max(0, r1_hi - max(r1_lo, 0) + 1);
  for (int v = 0; v < count0 + count1; v++) {
    auto region = 0;
    auto t = 0;
    if (v < count0) { region = 0; t = max(r0_lo, 0) + v - (0); } else { region = 1; t = max(r1_lo, 0) + v - (count0); }
    if (region == 1 && ((t >= r0_lo && t <= r0_hi))) { continue; }
    if (floor_mod(v, splits) == split) visit(t, (t >= r0_full_lo && t <= r0_full_hi) || (t >= r1_full_lo && t <= r1_full_hi), false, 0, 0);
  }
  if (pv_pending) {
    copy_async_wait<0>();
    __syncthreads();
    pv();
  }


  // Row sums were partial per thread: reduce over the quad, then normalize and write (split-K: this split's
  // rows of the partials [splits, H, Q], merged by the combine kernel, split-combine.ts).
  const long long out_row0 = ((long long)split * HEADS + head0) * Q_LEN, out_row1 = ((long long)split * HEADS + head1) * Q_LEN;
#pragma unroll
  for (int offset = 1; offset < 4; offset *= 2) {
    l0 += __shfl_xor_sync(0xffffffffu, l0, offset);
    l1 += __shfl_xor_sync(0xffffffffu, l1, offset);
  }
  const float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f, inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
#pragma unroll
  for (int n = 0; n < D / 8; n++) {
    const int col = n * 8 + 2 * quad;
    if (row0 < Q_LEN) *reinterpret_cast<float2*>(out + (out_row0 + row0) * D + col) = make_float2(o[n][0] * inv0, o[n][1] * inv0);
    if (row1 < Q_LEN) *reinterpret_cast<float2*>(out + (out_row1 + row1) * D + col) = make_float2(o[n][2] * inv1, o[n][3] * inv1);
  }
  if (quad == 0) {
    // lse in natural log: the maxima are in base 2.
    if (row0 < Q_LEN) lse[out_row0 + row0] = l0 > 0.0f ? (m0 + log2f(l0)) * 0.69314718055994531f : -INFINITY;
    if (row1 < Q_LEN) lse[out_row1 + row1] = l1 > 0.0f ? (m1 + log2f(l1)) * 0.69314718055994531f : -INFINITY;
  }
}
