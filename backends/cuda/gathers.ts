import type { AttentionKernel, GatheredList } from "../../ir/kernel/kernel.js";
import { cuda } from "../c-like/dialect.js";
import { MaskPrinter } from "../c-like/predicate.js";
import { printTileClass } from "../c-like/tile-class.js";

/**
 * The gather paths of a dynamic CUDA kernel (kernel.gathers, passes/key-gathers.ts), after its tile-index
 * visits, as the WGSL kernel has them (backends/wgsl/emit.ts):
 * - columns (MInference's vertical lines): thread 0 walks the column list's bitmap and keeps, BN at a time,
 *   the listed keys whose key tile was not visited and that some row of the tile may keep (the whole mask's
 *   tile classifier on that one key); the block then visits them as one tile of gathered keys, on tensor
 *   cores, masked;
 * - diagonals (its slash lines): each thread, for each of its two rows, the keys q − o of the listed offsets
 *   that lie in no visited tile, are no listed column and that the mask keeps, folded one by one into the
 *   row's softmax with K and V read from memory. The four threads of a quad share a row: each scores the key
 *   (the same value), updates its own output columns, and only the first adds the probability to its part
 *   of the row sum, which the quad adds up at the end.
 * Split-K deals the column rounds and the offsets' words to the splits. Dynamic kernels are never packed
 * (../split-k.ts, packFor), so the block's rows share the head `head`. backends/cuda/emit.ts places the
 * pieces: the prologue before its tile-index loop, a column round where the index runs out, the diagonals
 * after the loop.
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
    int cursor = 0;
    unsigned pending = 0u;
    (void)column_words; (void)cursor; (void)pending;
`}${diagonals === undefined ? "" : `    const unsigned diagonal_base = ${base(diagonals)};
`}    // Keys the column path counts (the diagonal path leaves them to it).
    auto is_column = [&](int key) -> bool { ${columns === undefined ? "(void)key; return false;" : "return ((aux[column_base + key / 32] >> (key % 32)) & 1u) != 0u;"} };
    (void)is_column;
`;
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
 * One round of the column path, inside the visit loop: thread 0 walks the column bitmap on from its cursor and
 * leaves up to BN keys in gather_keys; `gathered` is how many (0 when the list is done), read by every thread.
 */
export function columnRoundCuda(kernel: AttentionKernel): string {
  const columns = kernel.gathers?.columns;
  if (columns === undefined) return "";
  return `        // Gathered columns: keys of ${columns.input.name} outside the visited tiles, BN per visit.
        __syncthreads();  // the previous visit is done with gather_keys
        if (threadIdx.x == 0) {
          int n = 0;
          for (;;) {
            if (pending == 0u) {
              if (cursor >= column_words) break;
              pending = aux[column_base + cursor];
              cursor++;
              continue;
            }
            if (n == BN) break;
            const int key = (cursor - 1) * 32 + __ffs(pending) - 1;
            pending &= pending - 1u;
            const int key_tile = key / BN;
            const bool visited = ((index_row[key_tile / 32] >> (key_tile % 32)) & 1u) != 0u;
            if (key < K_LEN && !visited && classify(rng(first, last), rng(key, key), tile_rows, head) != 0u) gather_keys[n++] = key;
          }
          gather_count = n;
        }
        __syncthreads();
        gathered = gather_count;
`;
}

/** After the visits: the diagonal path for the thread's two rows. */
export function diagonalPathCuda(kernel: AttentionKernel): string {
  const { columns, diagonals } = kernel.gathers ?? {};
  if (diagonals === undefined) return "";
  return `
    // Gathered diagonals: per row, keys q - o for the offsets in ${diagonals.input.name} outside the visited tiles${columns === undefined ? "" : " and columns"}.
${diagonalRow("row0", "pos0", "m0", "l0", 0)}${diagonalRow("row1", "pos1", "m1", "l1", 2)}`;
}

/**
 * One of the thread's rows (its fragment elements e0 and e0 + 1), printed once per row so that the output
 * fragment is indexed by constants and stays in registers.
 */
function diagonalRow(row: string, pos: string, m: string, l: string, e0: number): string {
  return `    if (${row} < Q_LEN) {
      const unsigned short* q_row = q_in + ((long long)head * Q_LEN + ${row}) * D;
      // Offsets above the position give keys below 0: the words past it hold none this row can use.
      for (int w = split; w <= ${pos} / 32 && w < (K_LEN + 31) / 32; w += splits) {
        unsigned bits = aux[diagonal_base + w];
        while (bits != 0u) {
          const int key = ${pos} - (w * 32 + __ffs(bits) - 1);
          bits &= bits - 1u;
          if (key < 0 || key >= K_LEN) continue;
          const int key_tile = key / BN;
          if (((index_row[key_tile / 32] >> (key_tile % 32)) & 1u) != 0u) continue;
          if (is_column(key)) continue;
          if (!keeps(${pos}, key, head)) continue;
          const long long at = ((long long)kv_head * K_LEN + key) * D;
          float dot = 0.0f;
          for (int d = 0; d < D; d++) dot += element_to_float(q_row[d]) * element_to_float(k_in[at + d]);
          const float s = dot * SCALE_LOG2;
          const float new_m = fmaxf(${m}, s);
          const float alpha = exp2f(${m} - new_m), p = exp2f(s - new_m);
          ${m} = new_m;
          ${l} = ${l} * alpha + (quad == 0 ? p : 0.0f);
#pragma unroll
          for (int n = 0; n < D / 8; n++) {
            const int col = n * 8 + 2 * quad;
            o[n][${e0}] = o[n][${e0}] * alpha + p * element_to_float(v_in[at + col]);
            o[n][${e0 + 1}] = o[n][${e0 + 1}] * alpha + p * element_to_float(v_in[at + col + 1]);
          }
        }
      }
    }
`;
}
