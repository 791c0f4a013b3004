import type { AttentionKernel, GatheredList } from "../../ir/kernel/kernel.js";
import { cuda } from "../c-like/dialect.js";
import { MaskPrinter } from "../c-like/predicate.js";
import { printTileClass } from "../c-like/tile-class.js";

/**
 * The gather paths of a dynamic CUDA kernel (kernel.gathers, passes/key-gathers.ts), after its tile-index
 * visits, as the WGSL kernel has them (backends/wgsl/emit.ts). Both filter their list's bitmap together
 * first, 128 words at a time, one word per thread, into gather_bits, so no thread walks a long list alone:
 * - columns (MInference's vertical lines): a listed key stays when its key tile was not visited and some row
 *   of the tile may keep it (the whole mask's tile classifier on that one key); thread 0 then takes the
 *   kept keys in order, BN at a time, and the block visits them as one tile of gathered keys, on tensor
 *   cores, masked;
 * - diagonals (its slash lines): an offset o stays unless each of the tile's keys q − o is below 0 or in a
 *   visited tile (most listed offsets are the near diagonals, inside the visited band); then each thread,
 *   for each of its two rows, takes the keys q − o of the offsets left that lie in no visited tile, are no
 *   listed column and that the mask keeps, folded one by one into the row's softmax with K and V read from
 *   memory. The four threads of a quad share a row: each scores the key (the same value), updates its own
 *   output columns, and only the first adds the probability to its part of the row sum, which the quad adds
 *   up at the end.
 * The filters drop only what every row would skip, in order, so the keys and their order are those of a
 * walk over the whole list. Split-K deals the column rounds and the offsets' words to the splits. Dynamic
 * kernels are never packed (../split-k.ts, packFor), so the block's rows share the head `head`.
 * backends/cuda/emit.ts places the pieces: the prologue before its tile-index loop, a column round where the
 * index runs out, the diagonals after the loop.
 */
/** What both paths read: the block's head, its rows, the list bases, and which keys are listed columns. */
export function gatherPrologueCuda(kernel: AttentionKernel): string {
  if (kernel.gathers === undefined) return "";
  const { columns, diagonals } = kernel.gathers;
  const base = listBase(kernel);
  return `
    const int head = head0;
    const Range tile_rows = rng(first - (K_LEN - Q_LEN), last - (K_LEN - Q_LEN));
    (void)tile_rows;
${columns === undefined ? "" : `    const unsigned column_base = ${base(columns)};
    const int column_words = (K_LEN + 31) / 32;
    // The filtered words gather_bits[0 .. 128) are the list's words from chunk on; thread 0's cursor starts past them.
    int chunk = -128, cursor = 128;
    unsigned pending = 0u;
    (void)column_words; (void)chunk; (void)cursor; (void)pending;
`}${diagonals === undefined ? "" : `    const unsigned diagonal_base = ${base(diagonals)};
`}    auto visited = [&](int key_tile) -> bool { return ((index_row[key_tile / 32] >> (key_tile % 32)) & 1u) != 0u; };
    (void)visited;
    // Keys the column path counts (the diagonal path leaves them to it).
    auto is_column = [&](int key) -> bool { ${columns === undefined ? "(void)key; return false;" : "return ((aux[column_base + key / 32] >> (key % 32)) & 1u) != 0u;"} };
    (void)is_column;
`;
}

/** Shared words of the gather paths: the filtered list words, one per thread, and (diagonals) which are not empty. */
export function gatherSharedCuda(kernel: AttentionKernel): string {
  if (kernel.gathers === undefined) return "";
  return `  // The gather paths' filtered list words, one per thread (the column path's, then the diagonal path's).
  __shared__ unsigned gather_bits[128];
${kernel.gathers.diagonals === undefined ? "" : "  // Which of the diagonal path's filtered words are not empty, one word per warp.\n  __shared__ unsigned diagonal_nonzero[4];\n"}`;
}

/** Where a gathered list's leaf starts in the packed inputs, for this head (and layer). */
function listBase(kernel: AttentionKernel): (list: GatheredList) => string {
  const printer = new MaskPrinter(kernel.inputs, cuda);
  return (list) => `aux[4u * ${printer.slot(list.input)}] + aux[4u * ${printer.slot(list.input)} + 1u] * (unsigned)(${printer.leafIndex(list.input, list.indices)})`;
}

/** The whole mask's tile classifier over ranges, for the column path: `classify(q, k, i)`. */
export function gatherClassifierCuda(kernel: AttentionKernel): string {
  if (kernel.gathers?.columns === undefined) return "";
  return `  auto classify = [&](Range q, Range k, Range i, int head) -> unsigned { (void)q; (void)k; (void)i; (void)head; return ${printTileClass(kernel.mask, kernel.inputs, cuda)}; };\n`;
}

/**
 * One round of the column path, inside the visit loop: thread 0 takes keys from the filtered words on from its
 * cursor and leaves up to BN in gather_keys; short of BN, the block filters the list's next 128 words and
 * thread 0 goes on. `gathered` is how many (0 when the list is done), read by every thread.
 */
export function columnRoundCuda(kernel: AttentionKernel): string {
  const columns = kernel.gathers?.columns;
  if (columns === undefined) return "";
  return `        // Gathered columns: keys of ${columns.input.name} outside the visited tiles, BN per visit.
        int n = 0;
        for (;;) {
          __syncthreads();  // the previous visit is done with gather_keys, and the filter with gather_bits
          if (threadIdx.x == 0) {
            for (;;) {
              if (pending == 0u) {
                if (cursor >= 128) break;
                pending = gather_bits[cursor++];
                continue;
              }
              if (n == BN) break;
              gather_keys[n++] = (chunk + cursor - 1) * 32 + __ffs(pending) - 1;
              pending &= pending - 1u;
            }
            gather_count = n;
          }
          __syncthreads();
          gathered = gather_count;
          // Short of BN: the filtered words ran out, so filter the next 128 (if any).
          if (gathered == BN || chunk + 128 >= column_words) break;
          chunk += 128;
          cursor = 0;
          const int cw = chunk + (int)threadIdx.x;
          unsigned left = 0u;
          if (cw < column_words) {
            unsigned bits = left = aux[column_base + cw];
            while (bits != 0u) {
              const int bit = __ffs(bits) - 1;
              bits &= bits - 1u;
              const int key = cw * 32 + bit;
              if (key >= K_LEN || visited(key / BN) || classify(rng(first, last), rng(key, key), tile_rows, head) == 0u) left &= ~(1u << bit);
            }
          }
          gather_bits[threadIdx.x] = left;
        }
`;
}

/**
 * After the visits: the diagonal path. Per 128 words of offsets, the block drops those that leave every row
 * of the tile only keys below 0 or in visited tiles, then each thread walks what is left for its two rows.
 */
export function diagonalPathCuda(kernel: AttentionKernel): string {
  const { columns, diagonals } = kernel.gathers ?? {};
  if (diagonals === undefined) return "";
  return `
    // Gathered diagonals: per row, keys q - o for the offsets in ${diagonals.input.name} outside the visited tiles${columns === undefined ? "" : " and columns"}.
    // Offsets above the tile's last position give keys below 0: the words past last / 32 hold none it can use.
    const int diagonal_words = min(last / 32 + 1, (K_LEN + 31) / 32);
    auto covered = [&](int o) -> bool {
      const int hi = last - o;
      if (hi < 0) return true;
      for (int t = max(first - o, 0) / BN; t <= hi / BN; t++) { if (!visited(t)) return false; }
      return true;
    };
    for (int diagonal_chunk = 0; diagonal_chunk < diagonal_words; diagonal_chunk += 128) {
      __syncthreads();  // the previous chunk's rows are done with gather_bits
      const int dw = diagonal_chunk + (int)threadIdx.x;
      unsigned left = 0u;
      if (dw < diagonal_words && dw % splits == split) {
        unsigned bits = left = aux[diagonal_base + dw];
        while (bits != 0u) {
          const int bit = __ffs(bits) - 1;
          bits &= bits - 1u;
          if (covered(dw * 32 + bit)) left &= ~(1u << bit);
        }
      }
      gather_bits[threadIdx.x] = left;
      // One bit per word that is not empty, so the rows skip the empty ones.
      const unsigned nonzero = __ballot_sync(0xffffffffu, left != 0u);
      if (lane == 0) diagonal_nonzero[warp] = nonzero;
      __syncthreads();
${diagonalRow("row0", "pos0", "m0", "l0", 0)}${diagonalRow("row1", "pos1", "m1", "l1", 2)}    }
`;
}

/**
 * One of the thread's rows (its fragment elements e0 and e0 + 1), printed once per row so that the output
 * fragment is indexed by constants and stays in registers.
 */
function diagonalRow(row: string, pos: string, m: string, l: string, e0: number): string {
  return `      if (${row} < Q_LEN) {
        const unsigned short* q_row = q_in + ((long long)head * Q_LEN + ${row}) * D;
        for (int f = 0; f < 4; f++) {
          unsigned nonzero = diagonal_nonzero[f];
          while (nonzero != 0u) {
            const int at = f * 32 + __ffs(nonzero) - 1;
            nonzero &= nonzero - 1u;
            unsigned bits = gather_bits[at];
            while (bits != 0u) {
              const int key = ${pos} - ((diagonal_chunk + at) * 32 + __ffs(bits) - 1);
              bits &= bits - 1u;
              if (key < 0 || key >= K_LEN) continue;
              if (visited(key / BN)) continue;
              if (is_column(key)) continue;
              if (!keeps(${pos}, key, head)) continue;
              const long long at_key = ((long long)kv_head * K_LEN + key) * D;
              float dot = 0.0f;
              for (int d = 0; d < D; d++) dot += element_to_float(q_row[d]) * element_to_float(k_in[at_key + d]);
              const float s = dot * SCALE_LOG2;
              const float new_m = fmaxf(${m}, s);
              const float alpha = exp2f(${m} - new_m), p = exp2f(s - new_m);
              ${m} = new_m;
              ${l} = ${l} * alpha + (quad == 0 ? p : 0.0f);
#pragma unroll
              for (int n = 0; n < D / 8; n++) {
                const int col = n * 8 + 2 * quad;
                o[n][${e0}] = o[n][${e0}] * alpha + p * element_to_float(v_in[at_key + col]);
                o[n][${e0 + 1}] = o[n][${e0 + 1}] * alpha + p * element_to_float(v_in[at_key + col + 1]);
              }
            }
          }
        }
      }
`;
}
