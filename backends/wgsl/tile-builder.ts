import { tileIndexMask, type AttentionKernel } from "../../ir/kernel/kernel.js";
import { denseLinesTest } from "../c-like/dense-lines.js";
import { MaskPrinter } from "../c-like/predicate.js";
import type { BoolNode, InputRef } from "../../ir/pattern/nodes.js";
import { wgsl } from "../c-like/dialect.js";
import { printTileClass } from "../c-like/tile-class.js";
import { inputAccessorsWgsl } from "./inputs.js";

/** Invocations per builder workgroup, and workgroups per row of the dispatch grid (WebGPU's x limit). */
export const builderWorkgroupSize = 64;
export const builderGridWidth = 65535;

/**
 * The device index builder of a dynamic kernel: writes the tile index (ir/plan/tile-index.ts) the attention
 * kernel walks, from the runtime inputs on the device. One invocation per query tile and 32 key tiles
 * classifies each tile with the printed tile classifier (backends/c-like/tile-class.ts, reference
 * ir/mask/tile-class.ts) and writes one touched and one full word. No atomics, no prefix sums: the index
 * has a fixed size, so the output is the same bits on every run.
 *
 * Bindings as in the attention kernel: 5 heads, 6 lengths, 7 the packed inputs; 8 the tile index
 * [launch head][query tile][touched words | full words].
 */
export function emitTileBuilderWgsl(kernel: AttentionKernel): string {
  return `// Stipple tile-index builder for ${kernel.name}: generated, do not edit.
const BM: i32 = ${kernel.blockM};
const BN: i32 = ${kernel.blockN};

@group(0) @binding(5) var<storage, read> head_list: array<u32>;
struct Lengths { q_len: i32, k_len: i32, heads: i32, kv_heads: i32, layers: i32, layer: i32 }
@group(0) @binding(6) var<uniform> lengths: Lengths;
@group(0) @binding(8) var<storage, read_write> tile_index: array<u32>;
${inputAccessorsWgsl}
fn floor_div(a: i32, b: i32) -> i32 {
  let t = a / b;
  return select(t, t - 1, (a % b != 0) && ((a < 0) != (b < 0)));
}

fn floor_mod(a: i32, b: i32) -> i32 {
  return a - b * floor_div(a, b);
}
${classifierWgsl(tileIndexMask(kernel), kernel.inputs)}${kernel.gathers === undefined ? "" : classifierWgsl(kernel.mask, kernel.inputs, "classify_whole", false)}${denseLinesWgsl(kernel)}
@compute @workgroup_size(${builderWorkgroupSize})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32) {
  let Q_LEN = lengths.q_len;
  let K_LEN = lengths.k_len;
  let tiles = (Q_LEN + BM - 1) / BM;
  let key_tiles = (K_LEN + BN - 1) / BN;
  let words = (key_tiles + 31) / 32;
  let at = i32((group.y * ${builderGridWidth}u + group.x) * ${builderWorkgroupSize}u + local);
  if (at >= tiles * words) { return; }
  let tile = at / words;
  let w = at % words;
  // The inputs stay in the layout even when the tile mask reads none (every line gathered): the builder
  // binds what the attention kernel binds.
  _ = arrayLength(&aux);
  let head = i32(head_list[group.z]);
  let kv_head = head * lengths.kv_heads / lengths.heads;
  let rows = vec2<i32>(tile * BM, min(tile * BM + BM, Q_LEN) - 1);
  var touched = 0u;
  var full = 0u;
  for (var b = 0; b < 32; b++) {
    let t = w * 32 + b;
    if (t >= key_tiles) { break; }
    let keys = vec2<i32>(t * BN, min(t * BN + BN, K_LEN) - 1);
    let positions = rows + vec2<i32>(K_LEN - Q_LEN);
    let kind = classify(positions, keys, rows, head, kv_head);
    let lines = kind == 0u && dense_lines(positions, keys, head, kv_head);
    // The whole mask's class: gathered lines can fill a touched tile, and dense ones touch a tile only
    // where the whole mask keeps some pair (ir/plan/tile-index.ts).
    var whole = kind;
    ${kernel.gathers === undefined ? "" : "if (kind == 1u || lines) { whole = classify_whole(positions, keys, rows, head, kv_head); }"}
    if (kind == 0u && !(lines && whole != 0u)) { continue; }
    touched |= 1u << u32(b);
    full |= select(0u, 1u << u32(b), whole == 2u);
  }
  let base = (i32(group.z) * tiles + tile) * 2 * words;
  tile_index[base + w] = touched;
  tile_index[base + words + w] = full;
}
`;
}

/** The launch's lengths under the names the printed masks use (kernels and builders alike). */
export const lengthLetsWgsl = `  let Q_LEN = lengths.q_len;
  let K_LEN = lengths.k_len;
  let HEADS = lengths.heads;
  let KV_HEADS = lengths.kv_heads;
  let LAYERS = lengths.layers;
  let LAYER = lengths.layer;`;

/**
 * `classify(q, k, i, head, kv_head)` (or `name`): the tile class (0 none, 1 some, 2 all) of `mask` on the
 * ranges q, k, i, with the range helpers it needs (unless already printed). The attention kernel prints it too, to drop gathered columns no row keeps.
 */
export function classifierWgsl(mask: BoolNode, inputs: readonly InputRef[], name = "classify", withHelpers = true): string {
  return `${withHelpers ? rangeHelpersWgsl : ""}
fn ${name}(q: vec2<i32>, k: vec2<i32>, i: vec2<i32>, head: i32, kv_head: i32) -> u32 {
${lengthLetsWgsl}
  return ${printTileClass(mask, inputs, wgsl)};
}
`;
}

/** The density rule of ir/plan/tile-index.ts (DenseLines) for the lines a kernel gathers: `dense_lines(q, k, head, kv_head)`. */
function denseLinesWgsl(kernel: AttentionKernel): string {
  return `
// Gathered lines dense in a tile are visited with it (ir/plan/tile-index.ts, DenseLines).
fn dense_lines(q: vec2<i32>, k: vec2<i32>, head: i32, kv_head: i32) -> bool {
  let HEADS = lengths.heads;
  let KV_HEADS = lengths.kv_heads;
  let LAYERS = lengths.layers;
  let LAYER = lengths.layer;
  return ${denseLinesTest(kernel, new MaskPrinter(kernel.inputs, wgsl))};
}
`;
}

/**
 * Ranges (vec2: lo, hi) and tile classes (0 none, 1 some, 2 all) in WGSL: the rules of ir/mask/tile-class.ts
 * one for one, so the device index equals the host reference bit for bit.
 */
const rangeHelpersWgsl = `
fn rng(lo: i32, hi: i32) -> vec2<i32> { return vec2<i32>(lo, hi); }
fn r_add(a: vec2<i32>, b: vec2<i32>) -> vec2<i32> { return a + b; }
fn r_sub(a: vec2<i32>, b: vec2<i32>) -> vec2<i32> { return vec2<i32>(a.x - b.y, a.y - b.x); }
fn r_neg(a: vec2<i32>) -> vec2<i32> { return vec2<i32>(-a.y, -a.x); }
fn r_min(a: vec2<i32>, b: vec2<i32>) -> vec2<i32> { return min(a, b); }
fn r_max(a: vec2<i32>, b: vec2<i32>) -> vec2<i32> { return max(a, b); }
// Products and floor quotients (divisor >= 1) are monotone in each argument: the corners bound them.
fn r_mul(a: vec2<i32>, b: vec2<i32>) -> vec2<i32> {
  let c = vec4<i32>(a.x * b.x, a.x * b.y, a.y * b.x, a.y * b.y);
  return vec2<i32>(min(min(c.x, c.y), min(c.z, c.w)), max(max(c.x, c.y), max(c.z, c.w)));
}
fn r_div(a: vec2<i32>, b: vec2<i32>) -> vec2<i32> {
  let c = vec4<i32>(floor_div(a.x, b.x), floor_div(a.x, b.y), floor_div(a.y, b.x), floor_div(a.y, b.y));
  return vec2<i32>(min(min(c.x, c.y), min(c.z, c.w)), max(max(c.x, c.y), max(c.z, c.w)));
}
fn r_mod(a: vec2<i32>, b: vec2<i32>) -> vec2<i32> {
  if (b.x == b.y && floor_div(a.x, b.x) == floor_div(a.y, b.x)) { return vec2<i32>(floor_mod(a.x, b.x), floor_mod(a.y, b.x)); }
  return vec2<i32>(0, b.y - 1);
}

fn c_not(a: u32) -> u32 { return 2u - a; }
fn c_and(a: u32, b: u32) -> u32 {
  if (a == 0u || b == 0u) { return 0u; }
  return select(1u, 2u, a == 2u && b == 2u);
}
fn c_or(a: u32, b: u32) -> u32 { return c_not(c_and(c_not(a), c_not(b))); }
fn c_ite(c: u32, t: u32, e: u32) -> u32 {
  if (c == 2u) { return t; }
  if (c == 0u) { return e; }
  return select(1u, t, t == e);
}
fn c_lt(a: vec2<i32>, b: vec2<i32>) -> u32 {
  if (a.y < b.x) { return 2u; }
  return select(1u, 0u, a.x >= b.y);
}
fn c_le(a: vec2<i32>, b: vec2<i32>) -> u32 {
  if (a.y <= b.x) { return 2u; }
  return select(1u, 0u, a.x > b.y);
}
fn c_eq(a: vec2<i32>, b: vec2<i32>) -> u32 {
  if (a.y < b.x || b.y < a.x) { return 0u; }
  return select(1u, 2u, a.x == a.y && b.x == b.y);
}
fn class_of_count(members: i32, total: i32) -> u32 {
  if (members == 0) { return 0u; }
  return select(1u, 2u, members == total);
}

// Members of an index list among the values r.x..r.y (values outside the list's range are not members).
fn in_index_class(slot: u32, leaf: i32, r: vec2<i32>) -> u32 {
  return class_of_count(index_members(slot, leaf, r), r.y - r.x + 1);
}

fn index_members(slot: u32, leaf: i32, r: vec2<i32>) -> i32 {
  let lo = max(r.x, 0);
  let hi = min(r.y, i32(aux[4u * slot + 3u]) - 1);
  var members = 0;
  if (lo <= hi) {
    let base = aux[4u * slot] + aux[4u * slot + 1u] * u32(leaf);
    for (var w = lo / 32; w <= hi / 32; w++) {
      let first = u32(max(lo - w * 32, 0));
      let width = u32(min(hi - w * 32, 31)) - first + 1u;
      let mask = select(((1u << width) - 1u) << first, 0xffffffffu, width == 32u);
      members += i32(countOneBits(aux[base + u32(w)] & mask));
    }
  }
  return members;
}

// Members of a block set in the rectangle rows.x..rows.y × cols.x..cols.y.
fn in_blocks_class(slot: u32, leaf: i32, rows: vec2<i32>, cols: vec2<i32>) -> u32 {
  let row_count = i32(aux[4u * slot + 2u]);
  let col_count = i32(aux[4u * slot + 3u]);
  var members = 0;
  for (var r = max(rows.x, 0); r <= min(rows.y, row_count - 1); r++) {
    for (var c = max(cols.x, 0); c <= min(cols.y, col_count - 1); c++) {
      members += select(0, 1, aux_bit(slot, leaf, r * col_count + c, row_count * col_count));
    }
  }
  return class_of_count(members, (rows.y - rows.x + 1) * (cols.y - cols.x + 1));
}

// The smallest and largest id at positions at.x..at.y (clamped to the ids, as ids_at does).
fn ids_range(slot: u32, at: vec2<i32>) -> vec2<i32> {
  let last = i32(aux[4u * slot + 3u]) - 1;
  var lo = ids_at(slot, clamp(at.x, 0, last));
  var hi = lo;
  for (var p = clamp(at.x, 0, last) + 1; p <= clamp(at.y, 0, last); p++) {
    let id = ids_at(slot, p);
    lo = min(lo, id);
    hi = max(hi, id);
  }
  return vec2<i32>(lo, hi);
}
`;
