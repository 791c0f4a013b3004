import type { AttentionKernel } from "../../ir/kernel/kernel.js";
import { assertNever } from "../../util/hash.js";
import { cuda, floatLiteral } from "../c-like/dialect.js";
import { printMask } from "../c-like/predicate.js";
import { closedFormLoops, latticeOf, naturalRegions, rowMapping, usesRuns, type VisitCall } from "../c-like/segments.js";
import { checkCudaKernel, cudaDynamicSharedBytes, cudaQInShared, cudaSoftmaxStep } from "./schedule.js";
import { inputAccessorsCuda, rangeHelpersCuda } from "./inputs.js";
import { columnRoundCuda, diagonalPathCuda, gatherClassifierCuda, gatherPrologueCuda, gatherSharedCuda } from "./gathers.js";
import { elementToFloat, integerPreludeCuda, latticeCuda, runsCuda, tensorCoreCuda } from "./prelude.js";
import { scoresFromRegisters, scoresFromSharedQ } from "./scores.js";

/**
 * Prints a kernel IR attention kernel as CUDA C++ for sm_80 and sm_90: flash-attention 2 on tensor cores.
 * A block of 4 warps serves 64 query rows (16 per warp); K and V tiles of 64 keys are staged in shared
 * memory by cp.async, each load in flight during math (stageTiles, below); S = Q·Kᵀ and O += P·V are
 * `mma.sync.m16n8k16` with f16 or bf16 operands and f32 accumulators, operands fetched with `ldmatrix`
 * (V transposed on the fly). Softmax is online, in base 2 (the scale is
 * folded with log2 e), with partial row sums per thread reduced once at the end. Only planned tiles are
 * visited; the mask runs on partial tiles only (and the key bound on the last tile). Past head dim 144
 * ("wide"), q stays in shared memory beside the tiles (dynamic shared memory, cudaDynamicSharedBytes) and
 * each tile is folded in SN keys at a time, so the output accumulator fits in registers.
 *
 * Dynamic patterns read their runtime inputs from the packed words (`aux`) and, for the sparse kernel, walk
 * the tile index that the builder (tile-builder.ts) wrote on the device just before, then gather the listed
 * columns and diagonals outside the visited tiles (gathers.ts). GQA decode serves the query heads of one KV
 * head in one block (`pack`, ../split-k.ts): slot s of the block's rows is row s mod Q of its head ⌊s / Q⌋.
 *
 * No headers: types are raw 16-bit words and conversions are inline PTX, so NVRTC needs no include path.
 * Parameters: q [H, Q, D], k and v [KVH, K, D] (16-bit), out [H, Q, D] f32, lse [H, Q] f32, the heads this
 * launch serves, for dynamic patterns the packed inputs and (sparse) the tile index, then the lengths and
 * the split count. Grid: (query tiles, splits, heads served); 128 threads per block. With splits > 1 (decode),
 * out and lse are the per-split partials [splits, H, Q, D] and [splits, H, Q] (split-combine.ts merges them).
 */
export function emitCuda(kernel: AttentionKernel): string {
  const element = checkCudaKernel(kernel);
  const { headDim: D } = kernel;
  const { blockM: BM, blockN: BN } = kernel;
  const lattice = latticeOf(kernel);
  const natural = naturalRegions(kernel).length;
  const gathers = kernel.gathers !== undefined, columns = kernel.gathers?.columns !== undefined;
  const rows = rowMapping(kernel, "(int)blockIdx.x", cuda);
  // Wide head dims keep q in shared memory (registers hold the output accumulator), and the tiles outgrow
  // static shared memory: all three live in the launch's dynamic shared memory.
  const wide = cudaQInShared(D);
  // Keys per softmax step, and the step's first key in the tile: the whole tile, or SN at a time when wide.
  const step = wide ? "SN" : "BN", base = wide ? "j0 + " : "";
  // Split-K: block y takes the visits v ≡ y (mod splits), as the WGSL kernel does.
  const visit: VisitCall = (t, full, onLattice) => `if (floor_mod(v, splits) == split) visit(${t}, ${full}, ${onLattice === undefined ? "false, 0" : `${onLattice.when}, ${onLattice.offset}`}, 0);`;
  return `// Stipple attention kernel ${kernel.name}: generated, do not edit.
// ${element} q/k/v, f32 accumulation on tensor cores (mma.sync m16n8k16), head dim ${D}, ${BM} query rows × ${BN} keys per tile.
${integerPreludeCuda}${tensorCoreCuda(element)}${gathers ? `${rangeHelpersCuda}${elementToFloat(element)}\n` : ""}
${usesRuns(kernel) ? runsCuda : ""}${lattice === undefined ? "" : latticeCuda(lattice.lattice)}
constexpr int BM = ${BM};
constexpr int BN = ${BN};
${wide ? `constexpr int SN = ${cudaSoftmaxStep};
` : ""}constexpr int D = ${D};
// Shared rows are padded by 8 halves (16 bytes) so ldmatrix's eight row addresses fall in different banks.
constexpr int STRIDE = D + 8;
constexpr float SCALE_LOG2 = ${floatLiteral(kernel.scale * Math.LOG2E)}f;

extern "C" __global__ void __launch_bounds__(128, 2) ${kernel.name}(
    const unsigned short* __restrict__ q_in, const unsigned short* __restrict__ k_in, const unsigned short* __restrict__ v_in,
    float* __restrict__ out, float* __restrict__ lse, const int* __restrict__ head_list,${dynamicParameters(kernel)}
    int q_len, int k_len, int heads, int kv_heads, int layers, int layer, int splits, int pack) {
${wide ? `  // K and V tiles, then the q tile: ${cudaDynamicSharedBytes(kernel)} bytes of dynamic shared memory (the launch's).
  extern __shared__ __align__(16) unsigned short dynamic_s[];
  unsigned short* const k_s = dynamic_s;
  unsigned short* const v_s = dynamic_s + BN * STRIDE;
  unsigned short* const q_s = dynamic_s + 2 * BN * STRIDE;
` : `  __shared__ __align__(16) unsigned short k_s[BN * STRIDE];
  __shared__ __align__(16) unsigned short v_s[BN * STRIDE];
`}${columns ? "  // The gathered columns of one visit, and how many (written by thread 0).\n  __shared__ int gather_keys[BN];\n  __shared__ int gather_count;\n" : ""}${gatherSharedCuda(kernel)}  const int Q_LEN = q_len, K_LEN = k_len, HEADS = heads, KV_HEADS = kv_heads, LAYERS = layers, LAYER = layer;
  (void)LAYERS; (void)LAYER;
  const int split = blockIdx.y;
  // The pack heads of block z share one KV head (the runtime packs only such heads).
  const int kv_head = head_list[blockIdx.z * pack] * KV_HEADS / HEADS;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, quad = lane % 4;
${rows.code}
${kernel.segments.kind === "closedForm" ? "" : "  (void)first; (void)last;\n"}${inputAccessorsCuda(`${printMask(kernel.mask, kernel.inputs, cuda)} ${gatherClassifierCuda(kernel)}`)}  // A slot's row (Q_LEN past the pack's rows) and head: slot s is row s mod Q of the pack's head ⌊s / Q⌋.
  auto row_of = [&](int slot) -> int { return slot >= 0 && slot < pack * Q_LEN ? slot % Q_LEN : Q_LEN; };
  auto head_of = [&](int slot) -> int { return head_list[blockIdx.z * pack + min(max(slot / Q_LEN, 0), pack - 1)]; };
  // This thread's two rows (g and g + 8 of its warp's sixteen), their heads and positions.
  const int slot0 = ${rows.rowOf("warp * 16 + g")};
  const int slot1 = ${rows.rowOf("warp * 16 + g + 8")};
  const int row0 = row_of(slot0), row1 = row_of(slot1);
  const int head0 = head_of(slot0), head1 = head_of(slot1);
  const int pos0 = K_LEN - Q_LEN + row0, pos1 = K_LEN - Q_LEN + row1;

  auto keeps = [&](int q, int k, int head) -> bool {
    const int i = q - (K_LEN - Q_LEN);
    (void)i;
    return ${printMask(kernel.mask, kernel.inputs, cuda)};
  };
${gatherClassifierCuda(kernel)}
  // Q tile → ${wide ? "q_s, where it stays (its A fragments are loaded at each k step)" : "registers (A fragments), staged through k_s"}.
  for (int c = threadIdx.x; c < BM * D / 8; c += 128) {
    const int r = c / (D / 8), col = (c % (D / 8)) * 8;
    const int slot = ${rows.rowOf("r")};
    const int qrow = row_of(slot);
    uint4 value = make_uint4(0, 0, 0, 0);
    if (qrow < Q_LEN) value = *reinterpret_cast<const uint4*>(q_in + ((long long)head_of(slot) * Q_LEN + qrow) * D + col);
    *reinterpret_cast<uint4*>(${wide ? "q_s" : "k_s"} + r * STRIDE + col) = value;
  }
  __syncthreads();
${wide ? `  // This warp's A fragment of q for 16 columns from kc · 16.
  auto load_q = [&](unsigned* a, int kc) { ldmatrix_x4(a, q_s + (warp * 16 + lane % 8 + 8 * ((lane / 8) & 1)) * STRIDE + kc * 16 + 8 * (lane / 16)); };
` : `  unsigned q_frag[D / 16][4];
#pragma unroll
  for (int kc = 0; kc < D / 16; kc++) {
    ldmatrix_x4(q_frag[kc], k_s + (warp * 16 + lane % 8 + 8 * ((lane / 8) & 1)) * STRIDE + kc * 16 + 8 * (lane / 16));
  }
`}
  float o[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; n++) { o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f; }
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
${lattice === undefined ? "" : `  int covered_lo[${Math.max(1, natural)}], covered_hi[${Math.max(1, natural)}];
  auto covered = [&](int key) -> bool {
    const int t = floor_div(key, BN);
    for (int n = 0; n < ${natural}; n++) { if (t >= covered_lo[n] && t <= covered_hi[n]) return true; }
    return false;
  };
`}
${wide ? "" : deferredPvCuda()}  // Visits key tile t, or lattice tile t (keys gathered)${columns ? ", or the gathered columns gather_keys[0 .. gathered) when gathered > 0" : ""}, folding it into the online softmax.
  auto visit = [&](int t, bool full, bool on_lattice, int o_lattice, int gathered) {
    (void)gathered;
    auto key_of = [&](int j) -> int { return ${columns ? "gathered > 0 ? (j < gathered ? gather_keys[j] : -1) : " : ""}${lattice === undefined ? "t * BN + j" : "on_lattice ? lattice_key(t * BN + j, o_lattice) : t * BN + j"}; };
${stageTiles(wide)}
${wide ? `    // The tile SN keys at a time, each step folded into the online softmax on its own: SN / BN of the
    // score registers, which wide head dims need for the output accumulator.
#pragma unroll 1
    for (int j0 = 0; j0 < BN; j0 += SN) {
` : ""}    // S = Q·Kᵀ for this warp's 16 rows × ${step} keys.
    float s[${step} / 8][4];
${wide ? scoresFromSharedQ(D) : scoresFromRegisters(D)}    // Scale; mask partial tiles (pattern), and any tile that reaches past the last key (bounds).
    const bool past_end = on_lattice || gathered > 0 || t * BN + BN > K_LEN;
#pragma unroll
    for (int n = 0; n < ${step} / 8; n++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int key = key_of(${base}n * 8 + 2 * quad + (e & 1));
        const int pos = e < 2 ? pos0 : pos1;
        bool kept = true;
        if (!full) kept = key >= 0 && key < K_LEN && keeps(pos, key, e < 2 ? head0 : head1)${lattice === undefined ? "" : " && !(on_lattice && covered(key))"};
        else if (past_end) kept = key >= 0 && key < K_LEN;
        s[n][e] = kept ? s[n][e] * SCALE_LOG2 : -INFINITY;
      }
    }
    // Online softmax over the two rows: new maxima (quad-reduced), rescale, exponentiate.
    float tile_max0 = -INFINITY, tile_max1 = -INFINITY;
#pragma unroll
    for (int n = 0; n < ${step} / 8; n++) {
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
    for (int n = 0; n < ${step} / 8; n++) {
      s[n][0] = exp2f(s[n][0] - base0); s[n][1] = exp2f(s[n][1] - base0);
      s[n][2] = exp2f(s[n][2] - base1); s[n][3] = exp2f(s[n][3] - base1);
      l0 += s[n][0] + s[n][1];
      l1 += s[n][2] + s[n][3];
    }
${wide ? pvNow() : deferPv}${wide ? "    }\n" : ""}  };

  ${segmentLoop(kernel, visit, wide ? "" : flushPv)}

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
`;
}

/** The pointers a dynamic kernel takes after the heads: its packed inputs, and the tile index it walks. */
export function dynamicParameters(kernel: AttentionKernel): string {
  const aux = kernel.inputs.length > 0 ? " const unsigned* __restrict__ aux," : "";
  return `${aux}${kernel.segments.kind === "tileIndex" ? " const unsigned* __restrict__ tile_index," : ""}`;
}

/**
 * The visits of a query tile: closed-form segments computed from its position; a dynamic kernel's set bits of its
 * tile index row (every thread reads the same words, so the visits' barriers stay uniform); every tile.
 */
function segmentLoop(kernel: AttentionKernel, visit: VisitCall, flush: string): string {
  switch (kernel.segments.kind) {
    case "closedForm": return `${closedFormLoops(kernel, cuda, visit).trimStart()}\n${flush}`;
    case "tileIndex": return `{
    const int words = ((K_LEN + BN - 1) / BN + 31) / 32;
    const unsigned* index_row = tile_index + ((long long)blockIdx.z * ((Q_LEN + BM - 1) / BM) + blockIdx.x) * 2 * words;${gatherPrologueCuda(kernel)}
    // The index's set bits, then (with gathered columns) rounds of BN listed columns: one visit site, since
    // each inlined visit costs registers (two spill at D 128 on sm_80).
    int w = 0${kernel.gathers?.columns === undefined ? "" : ", round = 0"};
    unsigned touched = 0u, full_bits = 0u;
    for (;;) {
      while (touched == 0u && w < words) { touched = index_row[w]; full_bits = index_row[words + w]; w++; }
      int t = 0, gathered = 0;
      bool full = false;
      if (touched != 0u) {
        const int bit = __ffs(touched) - 1;
        touched &= touched - 1u;
        t = (w - 1) * 32 + bit;
        full = ((full_bits >> bit) & 1u) != 0u;
        if (t % splits != split) continue;
      } else {
${kernel.gathers?.columns === undefined ? "        break;\n" : `${columnRoundCuda(kernel)}        if (gathered == 0) break;
        if (round++ % splits != split) continue;
`}      }
      visit(t, full, false, 0, gathered);
    }
${flush}${diagonalPathCuda(kernel)}
  }`;
    case "allTiles": return `for (int t = split; t <= (K_LEN - 1) / BN; t += splits) { visit(t, false, false, 0, 0); }\n${flush}`;
    default: return assertNever(kernel.segments, "segments");
  }
}

/**
 * The start of a visit: K and V tiles to shared memory by cp.async (16 bytes a copy, no staging registers;
 * keys out of range land as zeros), K and V in separate commit groups.
 * - Narrow kernels run the FA2 order with P·V deferred by one visit: wait for the previous visit's V and
 *   meet (every thread is then also done with k_s); send this visit's K; fold the previous visit's P into o
 *   (P·V) while K is in flight; meet (done with v_s); send this visit's V; wait for K and meet. V's copies
 *   then fly during this visit's scores and softmax and are used at the next visit (or the flush after the
 *   loop). Both loads overlap math, with three barriers a visit.
 * - Wide kernels (past 144) wait for both before their 16-key steps: a wait inside the step loop cost
 *   registers their accumulator needs (grid spilled at 256 on sm_90), and they have no room for a deferred P.
 */
function stageTiles(wide: boolean): string {
  const stage = `    auto stage = [&](unsigned short* tile, const unsigned short* rows) {
      for (int c = threadIdx.x; c < BN * D / 8; c += 128) {
        const int j = c / (D / 8), col = (c % (D / 8)) * 8;
        const int key = key_of(j);
        const bool valid = key >= 0 && key < K_LEN;
        copy_async_16(tile + j * STRIDE + col, rows + (valid ? ((long long)kv_head * K_LEN + key) * D + col : 0), valid);
      }
      copy_async_commit();
    };
`;
  return wide
    ? `    __syncthreads();  // the previous tile's readers are done with k_s and v_s
${stage}    stage(k_s, k_in);
    stage(v_s, v_in);
    copy_async_wait<0>();  // this thread's copies have landed
    __syncthreads();       // and every thread's
`
    : `    copy_async_wait<0>();  // the previous visit's V has landed (this thread's copies)
    __syncthreads();       // every thread's; and the previous scores are done with k_s
${stage}    stage(k_s, k_in);
    if (pv_pending) pv();
    __syncthreads();       // the previous P·V is done with v_s
    stage(v_s, v_in);
    copy_async_wait<1>();  // this thread's K copies have landed
    __syncthreads();       // and every thread's
`;
}

/** O += P·V for a (wide) kernel's current step: P from the step's scores, V from v_s. */
function pvNow(): string {
  return `    // O += P·V: P's accumulator layout is the A operand's, two key octets per 16-key chunk.
#pragma unroll
    for (int c = 0; c < SN / 16; c++) {
      const unsigned p[4] = {pack2(s[2 * c][0], s[2 * c][1]), pack2(s[2 * c][2], s[2 * c][3]),
                             pack2(s[2 * c + 1][0], s[2 * c + 1][1]), pack2(s[2 * c + 1][2], s[2 * c + 1][3])};
${pvChunk("j0 + c * 16", "p")}    }
`;
}

/** One 16-key chunk of P·V: c of P's A fragments (`p`), V's 16 rows from `first` in v_s. */
function pvChunk(first: string, p: string): string {
  return `#pragma unroll
      for (int n = 0; n < D / 8; n += 2) {
        unsigned b[4];
        ldmatrix_x4_trans(b, v_s + (${first} + lane % 8 + 8 * ((lane / 8) & 1)) * STRIDE + n * 8 + 8 * (lane / 16));
        mma16816(o[n], ${p}, b[0], b[1]);
        mma16816(o[n + 1], ${p}, b[2], b[3]);
      }
`;
}

/** A narrow kernel's deferred P·V: the previous visit's P, packed as A fragments, and the fold of it. */
function deferredPvCuda(): string {
  return `  // The previous visit's P as A fragments (two key octets per 16-key chunk), folded in by the next visit
  // (or the flush after the loop) once its V has landed: see stageTiles in backends/cuda/emit.ts.
  unsigned p_prev[BN / 16][4];
  bool pv_pending = false;
  auto pv = [&]() {
#pragma unroll
    for (int c = 0; c < BN / 16; c++) {
${pvChunk("c * 16", "p_prev[c]")}    }
    pv_pending = false;
  };
`;
}

/** The end of a narrow kernel's visit: its P packed for the next one. */
const deferPv = `    // P as A fragments, folded in at the next visit (its V is still in flight).
#pragma unroll
    for (int c = 0; c < BN / 16; c++) {
      p_prev[c][0] = pack2(s[2 * c][0], s[2 * c][1]);
      p_prev[c][1] = pack2(s[2 * c][2], s[2 * c][3]);
      p_prev[c][2] = pack2(s[2 * c + 1][0], s[2 * c + 1][1]);
      p_prev[c][3] = pack2(s[2 * c + 1][2], s[2 * c + 1][3]);
    }
    pv_pending = true;
`;

/** After a narrow kernel's visits: the last visit's P·V, once its V has landed. */
const flushPv = `  if (pv_pending) {
    copy_async_wait<0>();
    __syncthreads();
    pv();
  }
`;
