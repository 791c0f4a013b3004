import type { AttentionKernel, GatheredList } from "../../ir/kernel/kernel.js";
import { wgsl } from "../c-like/dialect.js";
import { MaskPrinter } from "../c-like/predicate.js";
import { foldTileWgsl } from "./fold.js";
import { qDotWgsl, rescaleRowWgsl, setAccumulatorWgsl, stageTileWgsl } from "./quads.js";

/**
 * The WGSL kernel's gather paths (kernel.gathers, passes/key-gathers.ts), after the tile index's visits:
 * the listed columns' keys outside the visited tiles, staged and folded BN at a time for the whole tile
 * (MInference's vertical path), then the listed diagonals' keys q − o, each row folding its own.
 *
 * Both paths walk a list (the set bits of an index input's leaf) through one loop, listBatchesWgsl: the
 * workgroup filters the list's words BM at a time, one word per invocation, dropping what no row can use;
 * invocation 0 takes what is left, in order, BN at a time, and every invocation then works on that batch.
 * A batch is in workgroup memory, so its trip count is uniform and every lane of a SIMD group reads the
 * same item: on SwiftShader a loop whose trip count differs per lane, or a load whose address does, costs
 * several times one that agrees (at 8k and 5 %, rows walking their own filtered bits took 40–56 ms of a
 * 360–390 ms kernel; walking a batch takes 6–19 ms, the diagonal keys' K and V reads included).
 */

/** Workgroup memory and helpers both paths use: the filtered words, one batch and its length, tile bits. */
export function gatherDeclarationsWgsl(kernel: AttentionKernel): string {
  const diagonals = kernel.gathers?.diagonals !== undefined;
  return `// The gather paths' filtered list words, one per invocation, and one batch of what is left (keys for the
// column path, offsets for the diagonal path) with its length, written by invocation 0.
var<workgroup> gather_bits: array<u32, ${kernel.blockM}>;
var<workgroup> gather_batch: array<i32, ${kernel.blockN}>;
var<workgroup> gather_count: i32;

fn key_tile_visited(index_base: i32, key_tile: i32) -> bool {
  return ((tile_index[index_base + key_tile / 32] >> u32(key_tile % 32)) & 1u) == 1u;
}
${diagonals ? keysCoveredWgsl : ""}`;
}

/** Bytes of workgroup memory gatherDeclarationsWgsl declares. */
export function gatherStorageBytes(kernel: AttentionKernel): number {
  return kernel.gathers === undefined ? 0 : (kernel.blockM + kernel.blockN + 1) * 4;
}

const keysCoveredWgsl = `
// Whether every key in lo..hi is below 0 or in a visited tile (keys above K_LEN - 1 are not asked about).
fn keys_covered(lo: i32, hi: i32, index_base: i32) -> bool {
  if (hi < 0) { return true; }
  for (var t = max(lo, 0) / BN; t <= hi / BN; t++) {
    if (!key_tile_visited(index_base, t)) { return false; }
  }
  return true;
}
`;

/** The functions the paths call: visit_columns (a staged batch of columns), fold_direct (a row's diagonal keys). */
export function gatherFunctionsWgsl(kernel: AttentionKernel): string {
  const { columns, diagonals } = kernel.gathers ?? {};
  return `${columns === undefined ? "" : `${columnVisitWgsl(kernel)}\n`}${diagonals === undefined ? "" : `${foldDirectWgsl(kernel)}\n`}`;
}

/** Loads a batch of gathered columns' K and V rows (every invocation helps); the fold masks every one. */
function columnVisitWgsl({ blockN, headDim }: AttentionKernel): string {
  return `// Visits the gathered columns gather_batch[0 .. count): loads their K and V rows, then each valid row folds them in.
fn visit_columns(count: i32, local: i32, row: i32, head: i32, kv_head: i32) {
  let Q_LEN = q_len();
  let K_LEN = k_len();
${stageTileWgsl("gather_batch[j]", "j < count")}
${foldTileWgsl("let keep = keeps(q, gather_batch[j], row, head, kv_head);", blockN, headDim)}`;
}

/**
 * Folds a row's diagonal keys into its softmax, K and V read straight from memory: a row's diagonal keys
 * are its own, there is nothing to share with the other rows.
 */
function foldDirectWgsl({ blockN, headDim }: AttentionKernel): string {
  return `// Folds the row's keys keys[0 .. count) into its softmax, K and V read directly.
fn fold_direct(keys: ptr<function, array<i32, ${blockN}>>, count: i32, q: i32, kv_head: i32) {
  let K_LEN = k_len();
  var scores: array<f32, ${blockN}>;
  var block_max = 0.0;
  for (var j = 0; j < count; j++) {
    let base = (kv_head * K_LEN + (*keys)[j]) * D;
    scores[j] = ${qDotWgsl(headDim, (c) => `k_quad(base + ${4 * c})`)} * SCALE;
    block_max = select(scores[j], max(block_max, scores[j]), j > 0);
  }
${rescaleRowWgsl(headDim, "  ")}
  for (var j = 0; j < count; j++) {
    let p = exp(scores[j] - new_max);
    row_sum += p;
    let base = (kv_head * K_LEN + (*keys)[j]) * D;
${setAccumulatorWgsl(headDim, (c) => `a${c} + p * v_quad(base + ${4 * c})`, "    ")}
  }
  row_max = new_max;
  row_kept = true;
}`;
}

/** main's gather code, after the tile index loop (every invocation runs it: it holds barriers). */
export function gatherLoopsWgsl(kernel: AttentionKernel): string {
  const { columns, diagonals } = kernel.gathers ?? {};
  return [columns && columnLoopWgsl(kernel, columns), diagonals && diagonalLoopWgsl(kernel, diagonals, columns !== undefined)]
    .filter((x) => x !== undefined).join("\n");
}

/**
 * The listed keys (set bits of the column input's leaf) whose key tile was not visited and that some row
 * of the tile may keep (the classifier on that one key), staged and folded a batch at a time. Split-K
 * deals the batches to the splits.
 */
function columnLoopWgsl(kernel: AttentionKernel, columns: GatheredList): string {
  const filter = `        if (w < column_words) {
          var bits = aux[column_base + u32(w)];
          left = bits;
          while (bits != 0u) {
            let bit = firstTrailingBit(bits);
            bits &= bits - 1u;
            let key = w * 32 + i32(bit);
            if (key >= K_LEN || key_tile_visited(index_base, key / BN) || classify(tile_rows + vec2<i32>(K_LEN - Q_LEN), vec2<i32>(key, key), tile_rows, head, kv_head) == 0u) {
              left &= ~(1u << bit);
            }
          }
        }`;
  const consume = `      if (round % splits == split) { visit_columns(batched, local, row, head, kv_head); }
      round++;`;
  return `  // Gathered columns: keys of ${columns.input.name} outside the visited tiles.
  let column_base = ${listBaseWgsl(kernel, columns)};
  {
    let column_words = (K_LEN + 31) / 32;
    let tile_rows = vec2<i32>(tile * BM, min(tile * BM + BM, Q_LEN) - 1);
    var round = 0;
${listBatchesWgsl("column_words", filter, consume)}
  }`;
}

/**
 * The listed offsets o (set bits of the diagonal input's leaf) whose keys q − o some row of the tile has
 * outside the visited tiles; each row then takes, from each batch, the keys q − o that lie in no visited
 * tile, are no listed column (those the column path counts) and that the mask keeps, and folds them BN at
 * a time. Most listed offsets are the near diagonals, inside the visited band for every row: the filter
 * drops a whole word of them with one test of the keys its 32 offsets give, before testing offset by
 * offset. Rows walk the offsets in order, so the result is the one a row walking the whole list gets.
 * Split-K deals the list's words to the splits.
 */
function diagonalLoopWgsl(kernel: AttentionKernel, diagonals: GatheredList, columns: boolean): string {
  const filter = `        if (w < offset_words && w % splits == split) {
          var bits = aux[diagonal_base + u32(w)];
          // Offsets 32w .. 32w + 31 give the tile's rows keys in first - 32w - 31 .. last - 32w.
          if (keys_covered(first - w * 32 - 31, last - w * 32, index_base)) { bits = 0u; }
          left = bits;
          while (bits != 0u) {
            let bit = firstTrailingBit(bits);
            bits &= bits - 1u;
            let o = w * 32 + i32(bit);
            if (keys_covered(first - o, last - o, index_base)) { left &= ~(1u << bit); }
          }
        }`;
  const columnTest = columns ? " && ((aux[column_base + u32(key) / 32u] >> (u32(key) % 32u)) & 1u) == 0u" : "";
  const consume = `      if (row < Q_LEN) {
        for (var m = 0; m < batched; m++) {
          let key = q - gather_batch[m];
          if (key >= 0 && key < K_LEN && !key_tile_visited(index_base, key / BN)${columnTest} && keeps(q, key, row, head, kv_head)) {
            keys[count] = key;
            count++;
            if (count == BN) {
              fold_direct(&keys, count, q, kv_head);
              count = 0;
            }
          }
        }
      }`;
  return `  // Gathered diagonals: per row, keys q - o for the offsets in ${diagonals.input.name} outside the visited tiles${columns ? " and columns" : ""}.
  {
    let diagonal_base = ${listBaseWgsl(kernel, diagonals)};
    let q = K_LEN - Q_LEN + row;
    var keys: array<i32, BN>;
    var count = 0;
    // Offsets above the tile's last position give keys below 0: the words past last / 32 hold none it can use.
    let offset_words = min(last / 32 + 1, (K_LEN + 31) / 32);
${listBatchesWgsl("offset_words", filter, consume)}
    if (row < Q_LEN && count > 0) { fold_direct(&keys, count, q, kv_head); }
  }`;
}

/** Where a gathered list's leaf starts in the packed inputs, for this head (and layer). */
function listBaseWgsl(kernel: AttentionKernel, list: GatheredList): string {
  const printer = new MaskPrinter(kernel.inputs, wgsl);
  const slot = printer.slot(list.input);
  return `aux[4u * ${slot}] + aux[4u * ${slot} + 1u] * u32(${printer.leafIndex(list.input, list.indices)})`;
}

/**
 * The loop both paths run: the list's words 0 .. `words` filtered BM at a time into gather_bits (`filter`
 * sets `left` from word w), invocation 0 taking the set bits left into gather_batch, in order, with a
 * cursor that persists across batches, and asking for the next words when they run out (its count, read
 * uniformly, says so by being short of BN); `consume` then works on the batch's `batched` items, until a
 * batch comes back empty. The barrier at the top keeps invocation 0 off a batch the others still read.
 */
function listBatchesWgsl(words: string, filter: string, consume: string): string {
  return `    var chunk = -BM;
    var cursor = BM;
    var pending = 0u;
    loop {
      var n = 0;
      loop {
        workgroupBarrier();
        if (local == 0) {
          loop {
            if (pending == 0u) {
              if (cursor >= BM) { break; }
              pending = gather_bits[cursor];
              cursor++;
              continue;
            }
            if (n == BN) { break; }
            gather_batch[n] = (chunk + cursor - 1) * 32 + i32(firstTrailingBit(pending));
            pending &= pending - 1u;
            n++;
          }
          gather_count = n;
        }
        // Short of BN: the filtered words ran out, so filter the next BM (if any).
        if (workgroupUniformLoad(&gather_count) == BN || chunk + BM >= ${words}) { break; }
        chunk += BM;
        cursor = 0;
        let w = chunk + local;
        var left = 0u;
${filter}
        gather_bits[local] = left;
      }
      let batched = workgroupUniformLoad(&gather_count);
      if (batched == 0) { break; }
${consume}
    }`;
}
