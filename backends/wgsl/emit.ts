import type { AttentionKernel, Dtype, GatheredList } from "../../ir/kernel/kernel.js";
import { assertNever } from "../../util/hash.js";
import { floatLiteral, wgsl } from "../c-like/dialect.js";
import { MaskPrinter, printMask } from "../c-like/predicate.js";
import { closedFormLoops, latticeOf, naturalRegions, rowMapping, usesRuns, type VisitCall } from "../c-like/segments.js";
import { inputAccessorsWgsl, tileIndexLoopWgsl } from "./inputs.js";
import { latticeVisitHeaderWgsl, latticeWgsl, runsWgsl, visitHeaderWgsl } from "./lattice.js";
import { qDotWgsl, quadsOf, rowStateWgsl, setAccumulatorWgsl, stageTileWgsl } from "./quads.js";
import { checkWgslKernel } from "./schedule.js";
import { classifierWgsl, lengthLetsWgsl } from "./tile-builder.js";

/**
 * Prints a kernel IR attention kernel as WGSL (flash-attention style). One workgroup per query tile and
 * head, one invocation per query row: the row's q and output accumulator stay in registers (vec4 quads of
 * the head dim, quads.ts), K and V tiles are staged through workgroup memory, softmax is online (running
 * max and sum), one pass over the keys. Only planned key tiles are visited; full tiles skip the mask.
 * Deterministic: same kernel, same text.
 *
 * Bindings: 0 q [H, Q, D], 1 k [KVH, K, D], 2 v [KVH, K, D] (f32), 3 out [H, Q, D] (f32),
 * 4 lse [H, Q] (f32 bits as u32, so −∞ needs no float constant), 5 the heads this kernel serves,
 * 6 the launch's lengths (uniform): the same kernel serves every shape; for dynamic patterns 7 the packed
 * runtime inputs (backends/wgsl/inputs.ts), 8 the tile index (backends/wgsl/tile-builder.ts).
 * Split-K: workgroup (x, y, z) serves query tile x, split y: the visits v with v mod splits = y.
 */
export function emitWgsl(kernel: AttentionKernel): string {
  const { blockM, blockN, headDim: D } = kernel;
  const lattice = latticeOf(kernel);
  const rows = rowMapping(kernel, "i32(group.x)", wgsl);
  const columns = kernel.gathers?.columns, diagonals = kernel.gathers?.diagonals;
  checkWgslKernel(kernel);
  return `// Stipple attention kernel ${kernel.name}: generated, do not edit.
// ${kernel.dtype} q/k/v, f32 math, head dim ${D}, ${blockM} query rows × ${blockN} keys per tile.
const BM: i32 = ${blockM};
const BN: i32 = ${blockN};
const D: i32 = ${D};
const QUADS: i32 = ${D / 4};
const SCALE: f32 = ${floatLiteral(kernel.scale)};

${tensorBindings(kernel.dtype)}@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<u32>;
@group(0) @binding(5) var<storage, read> head_list: array<u32>;

// splits: the key tiles are dealt out to this many workgroups per query tile (split-K, for decode); the
// outputs are then per split, normalised by their own sum, and a combine kernel merges them by their lse.
// pack: query heads of one KV head served together, their rows head-major in a workgroup's slots (GQA decode:
// the KV tiles are loaded once for them all); 1 otherwise.
struct Lengths { q_len: i32, k_len: i32, heads: i32, kv_heads: i32, layers: i32, layer: i32, splits: i32, pack: i32 }
@group(0) @binding(6) var<uniform> lengths: Lengths;

// Uniform loads keep every value derived from the lengths uniform, so barriers stay in uniform control flow.
fn q_len() -> i32 { return lengths.q_len; }
fn k_len() -> i32 { return lengths.k_len; }
${usesAux(kernel) ? inputAccessorsWgsl : ""}

// K and V tiles: key j's quad c at j * QUADS + c.
var<workgroup> k_tile: array<vec4<f32>, ${(blockN * D) / 4}>;
var<workgroup> v_tile: array<vec4<f32>, ${(blockN * D) / 4}>;
${kernel.segments.kind === "tileIndex" ? "@group(0) @binding(8) var<storage, read> tile_index: array<u32>;\n" : ""}${columns === undefined ? "" : `// The gathered columns of one visit, and how many (written by invocation 0).
var<workgroup> gather_keys: array<i32, ${blockN}>;
var<workgroup> gather_count: i32;
`}${kernel.gathers === undefined ? "" : gatherDeclarationsWgsl(kernel)}

${rowStateWgsl(D)}var<private> row_max: f32;
var<private> row_sum: f32;
var<private> row_kept: bool;

fn floor_div(a: i32, b: i32) -> i32 {
  let t = a / b;
  return select(t, t - 1, (a % b != 0) && ((a < 0) != (b < 0)));
}

fn floor_mod(a: i32, b: i32) -> i32 {
  return a - b * floor_div(a, b);
}

fn ceil_div(a: i32, b: i32) -> i32 {
  return -floor_div(-a, b);
}

${usesRuns(kernel) ? runsWgsl : ""}${lattice === undefined ? "" : latticeWgsl(lattice, naturalRegions(kernel).length)}${columns === undefined ? "" : classifierWgsl(kernel.mask, kernel.inputs)}
fn keeps(q: i32, k: i32, i: i32, head: i32, kv_head: i32) -> bool {
  ${sizeLets(kernel)}return ${printMask(kernel.mask, kernel.inputs, wgsl)};
}

${lattice === undefined ? visitHeaderWgsl : latticeVisitHeaderWgsl}
${foldTileWgsl(lattice === undefined ? "let keep = full || keeps(q, k0 + j, row, head, kv_head);" : "let key = tile_key(t, j, on_lattice, o);\n      let keep = key >= 0 && key < K_LEN && (full || (keeps(q, key, row, head, kv_head) && !(on_lattice && covered(key))));", blockN, D)}
${columns === undefined ? "" : `${columnVisitHeaderWgsl}\n${foldTileWgsl("let keep = keeps(q, gather_keys[j], row, head, kv_head);", blockN, D)}\n`}${diagonals === undefined ? "" : `${diagonalVisitsWgsl(blockM, blockN, D, columns !== undefined)}\n`}
@compute @workgroup_size(${blockM})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local_index: u32) {
${lengthLetsWgsl}
  let pack = lengths.pack;
  // The pack heads of workgroup z share one KV head (the runtime packs only such heads).
  let kv_head = i32(head_list[group.z * u32(pack)]) * KV_HEADS / HEADS;
  let local = i32(local_index);
  let split = i32(group.y);
  let splits = lengths.splits;
${rows.code}
  let slot = ${rows.rowOf("local")};
  let row = select(Q_LEN, slot % Q_LEN, slot >= 0 && slot < pack * Q_LEN);
  let head = i32(head_list[group.z * u32(pack) + u32(clamp(slot / Q_LEN, 0, pack - 1))]);
  row_max = 0.0;
  row_sum = 0.0;
  row_kept = false;
  let q_base = (head * Q_LEN + min(row, Q_LEN - 1)) * D;
${setAccumulatorWgsl(D, () => "vec4<f32>(0.0)", "  ")}
${quadsOf(D).map((c) => `  q${c} = select(vec4<f32>(0.0), q_quad(q_base + ${4 * c}), row < Q_LEN);`).join("\n")}
${segmentLoop(kernel)}
  if (row < Q_LEN) {
    let at = (split * HEADS + head) * Q_LEN + row;
${quadsOf(D).map((c) => `    let o${c} = select(vec4<f32>(0.0), a${c} / row_sum, row_kept);\n    out[at * D + ${4 * c}] = o${c}.x; out[at * D + ${4 * c + 1}] = o${c}.y; out[at * D + ${4 * c + 2}] = o${c}.z; out[at * D + ${4 * c + 3}] = o${c}.w;`).join("\n")}
    lse[at] = select(0xff800000u, bitcast<u32>(row_max + log(row_sum)), row_kept);
  }
}
`;
}

/**
 * Workgroup memory the printed kernel declares (bytes): the K and V tiles, the gathered columns and their
 * count, the gather paths' filtered words. Kept beside emitWgsl so the two change together; the
 * runtime refuses a kernel above the device's limit (checkDeviceLimits) rather than let the pipeline fail.
 */
export function workgroupStorageBytes(kernel: AttentionKernel): number {
  const tiles = 2 * kernel.blockN * kernel.headDim * 4;
  const columns = kernel.gathers?.columns === undefined ? 0 : kernel.blockN * 4 + 4;
  const filtered = kernel.gathers === undefined ? 0 : kernel.blockM * 4;
  const diagonals = kernel.gathers?.diagonals === undefined ? 0 : nonzeroWords(kernel.blockM) * 4;
  return tiles + columns + filtered + diagonals;
}

/** The loop over key tiles: from the closed form (each tile once across regions), or over all of them. */
function segmentLoop(kernel: AttentionKernel): string {
  const { segments } = kernel;
  const lattice = latticeOf(kernel);
  switch (segments.kind) {
    case "allTiles":
      return `  for (var t = split; t <= (K_LEN - 1) / BN; t += splits) { visit(t, false, local, row, head, kv_head); }`;
    case "tileIndex": {
      const { columns, diagonals } = kernel.gathers ?? {};
      return [tileIndexLoopWgsl, columns && columnLoopWgsl(kernel, columns), diagonals && diagonalCallWgsl(kernel, diagonals, columns !== undefined)].filter((x) => x !== undefined).join("\n");
    }
    case "closedForm": {
      const visit: VisitCall = (t, full, onLattice) =>
        `if (floor_mod(v, splits) == split) { visit(${t}, ${full}, ${lattice === undefined ? "" : onLattice === undefined ? "false, 0, " : `${onLattice.when}, ${onLattice.offset}, `}local, row, head, kv_head); }`;
      return closedFormLoops(kernel, wgsl, visit);
    }
    default:
      return assertNever(segments, "segment source");
  }
}

/**
 * q, k, v and their accessors, f32 words or f16 halves two to a word (read as f32): `_at(i)` element i,
 * `_quad(i)` elements i .. i + 3 (i a multiple of 4, so f16 quads are two whole words).
 */
export function tensorBindings(dtype: Dtype): string {
  const names = ["q", "k", "v"];
  if (dtype === "f32") {
    return names.map((name, binding) => `@group(0) @binding(${binding}) var<storage, read> ${name}_in: array<f32>;\nfn ${name}_at(i: i32) -> f32 { return ${name}_in[i]; }\n`
      + `fn ${name}_quad(i: i32) -> vec4<f32> { return vec4<f32>(${name}_in[i], ${name}_in[i + 1], ${name}_in[i + 2], ${name}_in[i + 3]); }\n`).join("");
  }
  return `// f16 tensors, two halves to a word (element 2w in the low half), unpacked to f32: core WGSL, no shader-f16.\n`
    + names.map((name, binding) => `@group(0) @binding(${binding}) var<storage, read> ${name}_in: array<u32>;\nfn ${name}_at(i: i32) -> f32 { return unpack2x16float(${name}_in[i / 2])[i % 2]; }\n`
      + `fn ${name}_quad(i: i32) -> vec4<f32> { return vec4<f32>(unpack2x16float(${name}_in[i / 2]), unpack2x16float(${name}_in[i / 2 + 1])); }\n`).join("");
}

/** Kernels that read runtime inputs bind their packed words. */
export function usesAux(kernel: AttentionKernel): boolean {
  return kernel.inputs.length > 0;
}

/** The sizes the mask mentions, bound from the uniform lengths (only those used, to keep the text small). */
function sizeLets(kernel: AttentionKernel): string {
  const text = printMask(kernel.mask, kernel.inputs, wgsl);
  const lets = [["Q_LEN", "lengths.q_len"], ["K_LEN", "lengths.k_len"], ["HEADS", "lengths.heads"], ["KV_HEADS", "lengths.kv_heads"], ["LAYERS", "lengths.layers"], ["LAYER", "lengths.layer"]]
    .filter(([name]) => new RegExp(`\\b${name ?? ""}\\b`).test(text))
    .map(([name, field]) => `let ${name ?? ""} = ${field ?? ""};\n  `);
  return lets.join("");
}

/**
 * The rest of a visit, after its header loaded the tile into k_tile and v_tile: each valid row lists the
 * tile's keys it keeps (`keepLine` sets `keep` for key j), then scores them and folds them into its online
 * softmax. The loops run over the listed keys, not over the tile with a test inside: on a software adapter
 * a branch runs its body for masked lanes too, and an unrolled dot product is a large body, so a row would
 * pay for every key it drops; a loop stops when no lane has trips left, so a row pays only for its kept keys
 * (and its neighbours', in a SIMD group: rows next to each other keep about as many).
 */
function foldTileWgsl(keepLine: string, blockN: number, headDim: number): string {
  return `  workgroupBarrier();
  if (row < Q_LEN) {
    let q = K_LEN - Q_LEN + row;
    var kept: array<i32, ${blockN}>;
    var kept_count = 0;
    for (var j = 0; j < count; j++) {
      ${keepLine}
      if (keep) {
        kept[kept_count] = j;
        kept_count++;
      }
    }
    var scores: array<f32, ${blockN}>;
    var block_max = 0.0;
    for (var n = 0; n < kept_count; n++) {
      let at = kept[n] * QUADS;
      scores[n] = ${qDotWgsl(headDim, (c) => `k_tile[at + ${c}]`)} * SCALE;
      block_max = select(scores[n], max(block_max, scores[n]), n > 0);
    }
    if (kept_count > 0) {
      let new_max = select(block_max, max(row_max, block_max), row_kept);
      let alpha = select(0.0, exp(row_max - new_max), row_kept);
      row_sum *= alpha;
${setAccumulatorWgsl(headDim, (c) => `a${c} * alpha`, "      ")}
      for (var n = 0; n < kept_count; n++) {
        let p = exp(scores[n] - new_max);
        row_sum += p;
        let at = kept[n] * QUADS;
${setAccumulatorWgsl(headDim, (c) => `a${c} + p * v_tile[at + ${c}]`, "        ")}
      }
      row_max = new_max;
      row_kept = true;
    }
  }
  workgroupBarrier();
}`;
}

/** Loads the gathered columns' K and V rows (every invocation helps); the fold masks every one. */
const columnVisitHeaderWgsl = `// Visits the gathered columns gather_keys[0 .. count): loads their K and V rows, then each valid row folds them in.
fn visit_columns(count: i32, local: i32, row: i32, head: i32, kv_head: i32) {
  let Q_LEN = q_len();
  let K_LEN = k_len();
${stageTileWgsl("gather_keys[j]", "j < count")}`;

/**
 * After the tile index: the listed keys (set bits of the column input's leaf) whose key tile was not
 * visited and that some row of the tile may keep (the classifier on that one key), BN per visit. The
 * workgroup filters the list BM words at a time, one word per invocation, into gather_bits; invocation 0
 * takes keys from there in order, with a cursor that persists across visits, and asks for the next words
 * when they run out (its count, read uniformly, says so by being short of BN).
 */
function columnLoopWgsl(kernel: AttentionKernel, columns: GatheredList): string {
  return `  // Gathered columns: keys of ${columns.input.name} outside the visited tiles.
  let column_base = ${listBaseWgsl(kernel, columns)};
  let column_words = (K_LEN + 31) / 32;
  let tile_rows = vec2<i32>(tile * BM, min(tile * BM + BM, Q_LEN) - 1);
  // The filtered words gather_bits[0 .. BM) are the list's words from chunk on; the cursor starts past them.
  var chunk = -BM;
  var cursor = BM;
  var pending = 0u;
  var round = 0;
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
          gather_keys[n] = (chunk + cursor - 1) * 32 + i32(firstTrailingBit(pending));
          pending &= pending - 1u;
          n++;
        }
        gather_count = n;
      }
      // Short of BN: the filtered words ran out, so filter the next BM (if any).
      if (workgroupUniformLoad(&gather_count) == BN || chunk + BM >= column_words) { break; }
      chunk += BM;
      cursor = 0;
      let w = chunk + local;
      var left = 0u;
      if (w < column_words) {
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
      }
      gather_bits[local] = left;
    }
    let gathered = workgroupUniformLoad(&gather_count);
    if (gathered == 0) { break; }
    if (round % splits == split) { visit_columns(gathered, local, row, head, kv_head); }
    round++;
  }`;
}

/** Where a gathered list's leaf starts in the packed inputs, for this head (and layer). */
function listBaseWgsl(kernel: AttentionKernel, list: GatheredList): string {
  const printer = new MaskPrinter(kernel.inputs, wgsl);
  const slot = printer.slot(list.input);
  return `aux[4u * ${slot}] + aux[4u * ${slot} + 1u] * u32(${printer.leafIndex(list.input, list.indices)})`;
}

/**
 * After the tiles and columns, called by every invocation (it holds barriers): the diagonal path, the
 * workgroup filtering the offsets' words together and each row then walking what is left on its own.
 */
function diagonalCallWgsl(kernel: AttentionKernel, diagonals: GatheredList, columns: boolean): string {
  return `  // Gathered diagonals: per row, keys q - o for the offsets in ${diagonals.input.name} outside the visited tiles${columns ? " and columns" : ""}.
  visit_diagonals(${listBaseWgsl(kernel, diagonals)}, ${columns ? "column_base" : "0u"}, index_base, first, last, split, splits, local, row, head, kv_head);`;
}

/**
 * What both gather paths use: their filtered list words, one per invocation (the column path's, then the
 * diagonal path's), and the tile index's bit for a key tile.
 */
function gatherDeclarationsWgsl(kernel: AttentionKernel): string {
  return `// The gather paths' filtered list words, one per invocation (the column path's, then the diagonal path's).
var<workgroup> gather_bits: array<u32, ${kernel.blockM}>;
${kernel.gathers?.diagonals === undefined ? "" : diagonalWorkgroupWgsl(kernel.blockM)}
fn key_tile_visited(index_base: i32, key_tile: i32) -> bool {
  return ((tile_index[index_base + key_tile / 32] >> u32(key_tile % 32)) & 1u) == 1u;
}
`;
}

/** Words (32 invocations' bits each) of the diagonal filter's summary. */
const nonzeroWords = (blockM: number): number => Math.ceil(blockM / 32);

/** Workgroup words of the diagonal filter: BM filtered offset words and one bit per word that is not empty. */
function diagonalWorkgroupWgsl(blockM: number): string {
  return `// Which of the diagonal path's filtered offset words in gather_bits are not empty.
var<workgroup> diagonal_nonzero: array<atomic<u32>, ${nonzeroWords(blockM)}>;
`;
}

/**
 * The diagonal path: a row's keys q − o, for the listed offsets o (set bits of the list's leaf), that lie in
 * no visited tile, are no listed column (those the column path counts) and that the mask keeps, folded into
 * its softmax BN at a time, K and V read straight from memory: a row's diagonal keys are its own, there is
 * nothing to share. Most listed offsets are the near diagonals, inside the visited band for every row of the
 * tile, so the workgroup first drops those together, BM words at a time, one word per invocation (an offset
 * goes when each of the tile's keys q − o is below 0 or in a visited tile); each row then walks only the
 * words left, in the same order, so the result is the one a row walking every offset gets. Split-K deals
 * the offsets' words to the splits.
 */
function diagonalVisitsWgsl(blockM: number, blockN: number, headDim: number, columns: boolean): string {
  const summary = nonzeroWords(blockM);
  return `// Folds the row's keys diagonal_keys[0 .. count) into its softmax, K and V read directly.
fn fold_direct(keys: ptr<function, array<i32, ${blockN}>>, count: i32, q: i32, kv_head: i32) {
  let K_LEN = k_len();
  var scores: array<f32, ${blockN}>;
  var block_max = 0.0;
  for (var j = 0; j < count; j++) {
    let base = (kv_head * K_LEN + (*keys)[j]) * D;
    scores[j] = ${qDotWgsl(headDim, (c) => `k_quad(base + ${4 * c})`)} * SCALE;
    block_max = select(scores[j], max(block_max, scores[j]), j > 0);
  }
  let new_max = select(block_max, max(row_max, block_max), row_kept);
  let alpha = select(0.0, exp(row_max - new_max), row_kept);
  row_sum *= alpha;
${setAccumulatorWgsl(headDim, (c) => `a${c} * alpha`, "  ")}
  for (var j = 0; j < count; j++) {
    let p = exp(scores[j] - new_max);
    row_sum += p;
    let base = (kv_head * K_LEN + (*keys)[j]) * D;
${setAccumulatorWgsl(headDim, (c) => `a${c} + p * v_quad(base + ${4 * c})`, "    ")}
  }
  row_max = new_max;
  row_kept = true;
}

// Whether offset o gives every row of the tile (positions first..last) a key below 0 or in a visited tile.
fn offset_covered(o: i32, first: i32, last: i32, index_base: i32) -> bool {
  let hi = last - o;
  if (hi < 0) { return true; }
  for (var t = max(first - o, 0) / BN; t <= hi / BN; t++) {
    if (!key_tile_visited(index_base, t)) { return false; }
  }
  return true;
}

fn visit_diagonals(diagonal_base: u32, column_base: u32, index_base: i32, first: i32, last: i32, split: i32, splits: i32, local: i32, row: i32, head: i32, kv_head: i32) {
  let Q_LEN = q_len();
  let K_LEN = k_len();
  let q = K_LEN - Q_LEN + row;
  var keys: array<i32, ${blockN}>;
  var count = 0;
  // Offsets above the tile's last position give keys below 0: the words past last / 32 hold none it can use.
  let words = min(last / 32 + 1, (K_LEN + 31) / 32);
  for (var chunk = 0; chunk < words; chunk += BM) {
    workgroupBarrier();
    if (local < ${summary}) { atomicStore(&diagonal_nonzero[local], 0u); }
    workgroupBarrier();
    let w = chunk + local;
    var left = 0u;
    if (w < words && w % splits == split) {
      var bits = aux[diagonal_base + u32(w)];
      left = bits;
      while (bits != 0u) {
        let bit = firstTrailingBit(bits);
        bits &= bits - 1u;
        if (offset_covered(w * 32 + i32(bit), first, last, index_base)) { left &= ~(1u << bit); }
      }
    }
    gather_bits[local] = left;
    if (left != 0u) { atomicOr(&diagonal_nonzero[local / 32], 1u << u32(local % 32)); }
    workgroupBarrier();
    if (row < Q_LEN) {
      for (var f = 0; f < ${summary}; f++) {
        var nonzero = atomicLoad(&diagonal_nonzero[f]);
        while (nonzero != 0u) {
          let at = f * 32 + i32(firstTrailingBit(nonzero));
          nonzero &= nonzero - 1u;
          var bits = gather_bits[at];
          while (bits != 0u) {
            let key = q - ((chunk + at) * 32 + i32(firstTrailingBit(bits)));
            bits &= bits - 1u;
            if (key < 0 || key >= K_LEN) { continue; }
            if (key_tile_visited(index_base, key / BN)) { continue; }
${columns ? "            if (((aux[column_base + u32(key) / 32u] >> (u32(key) % 32u)) & 1u) == 1u) { continue; }\n" : ""}            if (!keeps(q, key, row, head, kv_head)) { continue; }
            keys[count] = key;
            count++;
            if (count == BN) {
              fold_direct(&keys, count, q, kv_head);
              count = 0;
            }
          }
        }
      }
    }
  }
  if (row < Q_LEN && count > 0) { fold_direct(&keys, count, q, kv_head); }
}`;
}
