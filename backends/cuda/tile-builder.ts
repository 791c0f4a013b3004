import { tileIndexMask, type AttentionKernel } from "../../ir/kernel/kernel.js";
import { denseLinesTest } from "../c-like/dense-lines.js";
import { cuda } from "../c-like/dialect.js";
import { MaskPrinter } from "../c-like/predicate.js";
import { printTileClass } from "../c-like/tile-class.js";
import { inputAccessorsCuda, rangeHelpersCuda } from "./inputs.js";
import { integerPreludeCuda } from "./prelude.js";

/** Threads per builder block. */
export const cudaBuilderThreads = 128;

/** The builder's entry point for a kernel. */
export const builderName = (kernel: AttentionKernel): string => `${kernel.name}_builder`;

/**
 * The device index builder of a dynamic kernel in CUDA: writes the tile index (ir/plan/tile-index.ts) the
 * attention kernel walks, from the runtime inputs on the device, as the WGSL builder does
 * (backends/wgsl/tile-builder.ts): one thread per query tile and 32 key tiles classifies each tile with the
 * printed tile classifier and writes one touched and one full word. No atomics, no prefix sums: the same
 * bits on every run, equal to the host reference.
 *
 * Parameters: the heads this launch serves, the packed inputs, the tile index [launch head][query tile]
 * [touched words | full words], then the lengths. Grid: (⌈query tiles · words / 128⌉, 1, heads served).
 * It is plain integer code (no intrinsics beyond `__popc`, `min`, `max`), so a test compiles it for the
 * host too and compares it with the reference builder on machines without a GPU.
 */
export function emitTileBuilderCuda(kernel: AttentionKernel): string {
  const printer = new MaskPrinter(kernel.inputs, cuda);
  const classifier = printTileClass(tileIndexMask(kernel), kernel.inputs, cuda);
  // A touched tile is full when the whole mask keeps every pair (they differ when lines are gathered).
  const whole = kernel.gathers === undefined ? undefined : printTileClass(kernel.mask, kernel.inputs, cuda);
  const lines = denseLinesTest(kernel, printer);
  return `// Stipple tile-index builder for ${kernel.name}: generated, do not edit.
${integerPreludeCuda}${rangeHelpersCuda}
constexpr int BM = ${kernel.blockM};
constexpr int BN = ${kernel.blockN};

extern "C" __global__ void __launch_bounds__(${cudaBuilderThreads}) ${builderName(kernel)}(
    const int* __restrict__ head_list, const unsigned* __restrict__ aux, unsigned* __restrict__ tile_index,
    int q_len, int k_len, int heads, int kv_heads, int layers, int layer) {
  const int Q_LEN = q_len, K_LEN = k_len, HEADS = heads, KV_HEADS = kv_heads, LAYERS = layers, LAYER = layer;
  (void)HEADS; (void)KV_HEADS; (void)LAYERS; (void)LAYER;
  const int tiles = (Q_LEN + BM - 1) / BM;
  const int key_tiles = (K_LEN + BN - 1) / BN;
  const int words = (key_tiles + 31) / 32;
  const int at = (int)(blockIdx.x * ${cudaBuilderThreads}u + threadIdx.x);
  if (at >= tiles * words) return;
  const int tile = at / words, w = at % words;
  const int head = head_list[blockIdx.z];
  const int kv_head = head * KV_HEADS / HEADS;
  (void)kv_head;
${inputAccessorsCuda(`${classifier} ${whole ?? ""} ${lines}`)}  auto classify = [&](Range q, Range k, Range i) -> unsigned { (void)q; (void)k; (void)i; return ${classifier}; };
${whole === undefined ? "" : `  auto classify_whole = [&](Range q, Range k, Range i) -> unsigned { (void)q; (void)k; (void)i; return ${whole}; };\n`}  // Gathered lines dense in a tile are visited with it (ir/plan/tile-index.ts, DenseLines).
  auto dense_lines = [&](Range q, Range k) -> bool { (void)q; (void)k; return ${lines}; };
  const Range rows = rng(tile * BM, min(tile * BM + BM, Q_LEN) - 1);
  const Range positions = rng(rows.x + K_LEN - Q_LEN, rows.y + K_LEN - Q_LEN);
  unsigned touched = 0u, full = 0u;
  for (int b = 0; b < 32; b++) {
    const int t = w * 32 + b;
    if (t >= key_tiles) break;
    const Range keys = rng(t * BN, min(t * BN + BN, K_LEN) - 1);
    const unsigned kind = classify(positions, keys, rows);
    const bool lines = kind == 0u && dense_lines(positions, keys);
    // The whole mask's class (one call site: two made nvcc keep the lambda out of line, on the stack).
    const unsigned whole = ${whole === undefined ? "kind" : "kind == 2u ? 2u : kind == 1u || lines ? classify_whole(positions, keys, rows) : 0u"};
    if (kind == 0u && !(lines && whole != 0u)) continue;
    touched |= 1u << b;
    if (whole == 2u) full |= 1u << b;
  }
  const long long base = ((long long)blockIdx.z * tiles + tile) * 2 * words;
  tile_index[base + w] = touched;
  tile_index[base + words + w] = full;
}
`;
}
