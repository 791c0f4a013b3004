// heads 0, 1
// Stipple attention kernel document_sparse: generated, do not edit.
// f32 q/k/v, f32 math, head dim 64, 64 query rows × 32 keys per tile.
const BM: i32 = 64;
const BN: i32 = 32;
const D: i32 = 64;
const QUADS: i32 = 16;
const SCALE: f32 = 0.125;

@group(0) @binding(0) var<storage, read> q_in: array<f32>;
fn q_at(i: i32) -> f32 { return q_in[i]; }
fn q_quad(i: i32) -> vec4<f32> { return vec4<f32>(q_in[i], q_in[i + 1], q_in[i + 2], q_in[i + 3]); }
@group(0) @binding(1) var<storage, read> k_in: array<f32>;
fn k_at(i: i32) -> f32 { return k_in[i]; }
fn k_quad(i: i32) -> vec4<f32> { return vec4<f32>(k_in[i], k_in[i + 1], k_in[i + 2], k_in[i + 3]); }
@group(0) @binding(2) var<storage, read> v_in: array<f32>;
fn v_at(i: i32) -> f32 { return v_in[i]; }
fn v_quad(i: i32) -> vec4<f32> { return vec4<f32>(v_in[i], v_in[i + 1], v_in[i + 2], v_in[i + 3]); }
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
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

@group(0) @binding(7) var<storage, read> aux: array<u32>;

fn aux_bit(slot: u32, leaf: i32, index: i32, count: i32) -> bool {
  if (index < 0 || index >= count) { return false; }
  let word = aux[aux[4u * slot] + aux[4u * slot + 1u] * u32(leaf) + u32(index) / 32u];
  return ((word >> (u32(index) % 32u)) & 1u) != 0u;
}

fn in_index(slot: u32, leaf: i32, value: i32) -> bool {
  return aux_bit(slot, leaf, value, i32(aux[4u * slot + 3u]));
}

fn in_blocks(slot: u32, leaf: i32, row: i32, col: i32) -> bool {
  let rows = i32(aux[4u * slot + 2u]);
  let cols = i32(aux[4u * slot + 3u]);
  if (row < 0 || row >= rows || col < 0 || col >= cols) { return false; }
  return aux_bit(slot, leaf, row * cols + col, rows * cols);
}

fn table_at(slot: u32, leaf: i32) -> bool {
  return aux[aux[4u * slot] + u32(leaf)] != 0u;
}

fn ids_at(slot: u32, position: i32) -> i32 {
  let count = i32(aux[4u * slot + 3u]);
  return bitcast<i32>(aux[aux[4u * slot] + u32(clamp(position, 0, count - 1))]);
}


// K and V tiles: key j's quad c at j * QUADS + c.
var<workgroup> k_tile: array<vec4<f32>, 512>;
var<workgroup> v_tile: array<vec4<f32>, 512>;
@group(0) @binding(8) var<storage, read> tile_index: array<u32>;


// The row's q and output accumulator as vec4 quads of the head dim (registers, not arrays).
var<private> q0: vec4<f32>;
var<private> q1: vec4<f32>;
var<private> q2: vec4<f32>;
var<private> q3: vec4<f32>;
var<private> q4: vec4<f32>;
var<private> q5: vec4<f32>;
var<private> q6: vec4<f32>;
var<private> q7: vec4<f32>;
var<private> q8: vec4<f32>;
var<private> q9: vec4<f32>;
var<private> q10: vec4<f32>;
var<private> q11: vec4<f32>;
var<private> q12: vec4<f32>;
var<private> q13: vec4<f32>;
var<private> q14: vec4<f32>;
var<private> q15: vec4<f32>;
var<private> a0: vec4<f32>;
var<private> a1: vec4<f32>;
var<private> a2: vec4<f32>;
var<private> a3: vec4<f32>;
var<private> a4: vec4<f32>;
var<private> a5: vec4<f32>;
var<private> a6: vec4<f32>;
var<private> a7: vec4<f32>;
var<private> a8: vec4<f32>;
var<private> a9: vec4<f32>;
var<private> a10: vec4<f32>;
var<private> a11: vec4<f32>;
var<private> a12: vec4<f32>;
var<private> a13: vec4<f32>;
var<private> a14: vec4<f32>;
var<private> a15: vec4<f32>;

fn sum4(v: vec4<f32>) -> f32 { return v.x + v.y + v.z + v.w; }
var<private> row_max: f32;
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


fn keeps(q: i32, k: i32, i: i32, head: i32, kv_head: i32) -> bool {
  return ((k <= q) && (ids_at(0u, q) == ids_at(0u, k)));
}

// Visits key tile t: loads it (every invocation helps), then each valid row folds it into its softmax.
fn visit(t: i32, full: bool, local: i32, row: i32, head: i32, kv_head: i32) {
  let Q_LEN = q_len();
  let K_LEN = k_len();
  let k0 = t * BN;
  let count = min(BN, K_LEN - k0);
  for (var e = local; e < BN * QUADS; e += BM) {
    let j = e / QUADS;
    let key = k0 + j;
    if (j < count) {
      let at = (kv_head * K_LEN + key) * D + 4 * (e % QUADS);
      k_tile[e] = k_quad(at);
      v_tile[e] = v_quad(at);
    }
  }
  workgroupBarrier();
  if (row < Q_LEN) {
    let q = K_LEN - Q_LEN + row;
    var kept: array<i32, 32>;
    var kept_count = 0;
    if (full) {
      kept_count = count;
    } else {
      for (var j = 0; j < count; j++) {
        let keep = keeps(q, k0 + j, row, head, kv_head);
        if (keep) {
          kept[kept_count] = j;
          kept_count++;
        }
      }
    }
    var scores: array<f32, 32>;
    var block_max = 0.0;
    for (var n = 0; n < kept_count; n++) {
      let at = select(kept[n], n, full) * QUADS;
      scores[n] = sum4(q0 * k_tile[at + 0] + q1 * k_tile[at + 1] + q2 * k_tile[at + 2] + q3 * k_tile[at + 3] + q4 * k_tile[at + 4] + q5 * k_tile[at + 5] + q6 * k_tile[at + 6] + q7 * k_tile[at + 7] + q8 * k_tile[at + 8] + q9 * k_tile[at + 9] + q10 * k_tile[at + 10] + q11 * k_tile[at + 11] + q12 * k_tile[at + 12] + q13 * k_tile[at + 13] + q14 * k_tile[at + 14] + q15 * k_tile[at + 15]) * SCALE;
      block_max = select(scores[n], max(block_max, scores[n]), n > 0);
    }
    if (kept_count > 0) {
      let new_max = select(block_max, max(row_max, block_max), row_kept);
      let alpha = select(0.0, exp(row_max - new_max), row_kept);
      row_sum *= alpha;
      a0 = a0 * alpha;
      a1 = a1 * alpha;
      a2 = a2 * alpha;
      a3 = a3 * alpha;
      a4 = a4 * alpha;
      a5 = a5 * alpha;
      a6 = a6 * alpha;
      a7 = a7 * alpha;
      a8 = a8 * alpha;
      a9 = a9 * alpha;
      a10 = a10 * alpha;
      a11 = a11 * alpha;
      a12 = a12 * alpha;
      a13 = a13 * alpha;
      a14 = a14 * alpha;
      a15 = a15 * alpha;
      for (var n = 0; n < kept_count; n++) {
        let p = exp(scores[n] - new_max);
        row_sum += p;
        let at = select(kept[n], n, full) * QUADS;
        a0 = a0 + p * v_tile[at + 0];
        a1 = a1 + p * v_tile[at + 1];
        a2 = a2 + p * v_tile[at + 2];
        a3 = a3 + p * v_tile[at + 3];
        a4 = a4 + p * v_tile[at + 4];
        a5 = a5 + p * v_tile[at + 5];
        a6 = a6 + p * v_tile[at + 6];
        a7 = a7 + p * v_tile[at + 7];
        a8 = a8 + p * v_tile[at + 8];
        a9 = a9 + p * v_tile[at + 9];
        a10 = a10 + p * v_tile[at + 10];
        a11 = a11 + p * v_tile[at + 11];
        a12 = a12 + p * v_tile[at + 12];
        a13 = a13 + p * v_tile[at + 13];
        a14 = a14 + p * v_tile[at + 14];
        a15 = a15 + p * v_tile[at + 15];
      }
      row_max = new_max;
      row_kept = true;
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local_index: u32) {
  let Q_LEN = lengths.q_len;
  let K_LEN = lengths.k_len;
  let HEADS = lengths.heads;
  let KV_HEADS = lengths.kv_heads;
  let LAYERS = lengths.layers;
  let LAYER = lengths.layer;
  let pack = lengths.pack;
  // The pack heads of workgroup z share one KV head (the runtime packs only such heads).
  let kv_head = i32(head_list[group.z * u32(pack)]) * KV_HEADS / HEADS;
  let local = i32(local_index);
  let split = i32(group.y);
  let splits = lengths.splits;
  let tile = i32(group.x);
  let s0 = tile * BM;
  let s1 = min(s0 + BM, pack * Q_LEN);
  let spans = s0 / Q_LEN != (s1 - 1) / Q_LEN;
  // Positions of the tile's first and last query rows.
  let first = K_LEN - Q_LEN + select(s0 % Q_LEN, 0, spans);
  let last = K_LEN - Q_LEN + select((s1 - 1) % Q_LEN, Q_LEN - 1, spans);
  let slot = tile * BM + local;
  let row = select(Q_LEN, slot % Q_LEN, slot >= 0 && slot < pack * Q_LEN);
  let head = i32(head_list[group.z * u32(pack) + u32(clamp(slot / Q_LEN, 0, pack - 1))]);
  row_max = 0.0;
  row_sum = 0.0;
  row_kept = false;
  let q_base = (head * Q_LEN + min(row, Q_LEN - 1)) * D;
  a0 = vec4<f32>(0.0);
  a1 = vec4<f32>(0.0);
  a2 = vec4<f32>(0.0);
  a3 = vec4<f32>(0.0);
  a4 = vec4<f32>(0.0);
  a5 = vec4<f32>(0.0);
  a6 = vec4<f32>(0.0);
  a7 = vec4<f32>(0.0);
  a8 = vec4<f32>(0.0);
  a9 = vec4<f32>(0.0);
  a10 = vec4<f32>(0.0);
  a11 = vec4<f32>(0.0);
  a12 = vec4<f32>(0.0);
  a13 = vec4<f32>(0.0);
  a14 = vec4<f32>(0.0);
  a15 = vec4<f32>(0.0);
  q0 = select(vec4<f32>(0.0), q_quad(q_base + 0), row < Q_LEN);
  q1 = select(vec4<f32>(0.0), q_quad(q_base + 4), row < Q_LEN);
  q2 = select(vec4<f32>(0.0), q_quad(q_base + 8), row < Q_LEN);
  q3 = select(vec4<f32>(0.0), q_quad(q_base + 12), row < Q_LEN);
  q4 = select(vec4<f32>(0.0), q_quad(q_base + 16), row < Q_LEN);
  q5 = select(vec4<f32>(0.0), q_quad(q_base + 20), row < Q_LEN);
  q6 = select(vec4<f32>(0.0), q_quad(q_base + 24), row < Q_LEN);
  q7 = select(vec4<f32>(0.0), q_quad(q_base + 28), row < Q_LEN);
  q8 = select(vec4<f32>(0.0), q_quad(q_base + 32), row < Q_LEN);
  q9 = select(vec4<f32>(0.0), q_quad(q_base + 36), row < Q_LEN);
  q10 = select(vec4<f32>(0.0), q_quad(q_base + 40), row < Q_LEN);
  q11 = select(vec4<f32>(0.0), q_quad(q_base + 44), row < Q_LEN);
  q12 = select(vec4<f32>(0.0), q_quad(q_base + 48), row < Q_LEN);
  q13 = select(vec4<f32>(0.0), q_quad(q_base + 52), row < Q_LEN);
  q14 = select(vec4<f32>(0.0), q_quad(q_base + 56), row < Q_LEN);
  q15 = select(vec4<f32>(0.0), q_quad(q_base + 60), row < Q_LEN);
  let tiles = (Q_LEN + BM - 1) / BM;
  let words = ((K_LEN + BN - 1) / BN + 31) / 32;
  let index_base = (i32(group.z) * tiles + tile) * 2 * words;
  let index_tiles = words * 32;
  var t = -1;
  loop {
    // The next touched tile after t, if any: the rest of its word, then whole words.
    t++;
    loop {
      if (t >= index_tiles) { break; }
      let rest = tile_index[index_base + t / 32] >> u32(t % 32);
      if (rest != 0u) {
        t += i32(firstTrailingBit(rest));
        break;
      }
      t = (t / 32 + 1) * 32;
    }
    if (t >= index_tiles) { break; }
    let full = ((tile_index[index_base + words + t / 32] >> u32(t % 32)) & 1u) == 1u;
    if (t % splits == split) { visit(t, full, local, row, head, kv_head); }
  }
  if (row < Q_LEN) {
    let at = (split * HEADS + head) * Q_LEN + row;
    let o0 = select(vec4<f32>(0.0), a0 / row_sum, row_kept);
    out[at * D + 0] = o0.x; out[at * D + 1] = o0.y; out[at * D + 2] = o0.z; out[at * D + 3] = o0.w;
    let o1 = select(vec4<f32>(0.0), a1 / row_sum, row_kept);
    out[at * D + 4] = o1.x; out[at * D + 5] = o1.y; out[at * D + 6] = o1.z; out[at * D + 7] = o1.w;
    let o2 = select(vec4<f32>(0.0), a2 / row_sum, row_kept);
    out[at * D + 8] = o2.x; out[at * D + 9] = o2.y; out[at * D + 10] = o2.z; out[at * D + 11] = o2.w;
    let o3 = select(vec4<f32>(0.0), a3 / row_sum, row_kept);
    out[at * D + 12] = o3.x; out[at * D + 13] = o3.y; out[at * D + 14] = o3.z; out[at * D + 15] = o3.w;
    let o4 = select(vec4<f32>(0.0), a4 / row_sum, row_kept);
    out[at * D + 16] = o4.x; out[at * D + 17] = o4.y; out[at * D + 18] = o4.z; out[at * D + 19] = o4.w;
    let o5 = select(vec4<f32>(0.0), a5 / row_sum, row_kept);
    out[at * D + 20] = o5.x; out[at * D + 21] = o5.y; out[at * D + 22] = o5.z; out[at * D + 23] = o5.w;
    let o6 = select(vec4<f32>(0.0), a6 / row_sum, row_kept);
    out[at * D + 24] = o6.x; out[at * D + 25] = o6.y; out[at * D + 26] = o6.z; out[at * D + 27] = o6.w;
    let o7 = select(vec4<f32>(0.0), a7 / row_sum, row_kept);
    out[at * D + 28] = o7.x; out[at * D + 29] = o7.y; out[at * D + 30] = o7.z; out[at * D + 31] = o7.w;
    let o8 = select(vec4<f32>(0.0), a8 / row_sum, row_kept);
    out[at * D + 32] = o8.x; out[at * D + 33] = o8.y; out[at * D + 34] = o8.z; out[at * D + 35] = o8.w;
    let o9 = select(vec4<f32>(0.0), a9 / row_sum, row_kept);
    out[at * D + 36] = o9.x; out[at * D + 37] = o9.y; out[at * D + 38] = o9.z; out[at * D + 39] = o9.w;
    let o10 = select(vec4<f32>(0.0), a10 / row_sum, row_kept);
    out[at * D + 40] = o10.x; out[at * D + 41] = o10.y; out[at * D + 42] = o10.z; out[at * D + 43] = o10.w;
    let o11 = select(vec4<f32>(0.0), a11 / row_sum, row_kept);
    out[at * D + 44] = o11.x; out[at * D + 45] = o11.y; out[at * D + 46] = o11.z; out[at * D + 47] = o11.w;
    let o12 = select(vec4<f32>(0.0), a12 / row_sum, row_kept);
    out[at * D + 48] = o12.x; out[at * D + 49] = o12.y; out[at * D + 50] = o12.z; out[at * D + 51] = o12.w;
    let o13 = select(vec4<f32>(0.0), a13 / row_sum, row_kept);
    out[at * D + 52] = o13.x; out[at * D + 53] = o13.y; out[at * D + 54] = o13.z; out[at * D + 55] = o13.w;
    let o14 = select(vec4<f32>(0.0), a14 / row_sum, row_kept);
    out[at * D + 56] = o14.x; out[at * D + 57] = o14.y; out[at * D + 58] = o14.z; out[at * D + 59] = o14.w;
    let o15 = select(vec4<f32>(0.0), a15 / row_sum, row_kept);
    out[at * D + 60] = o15.x; out[at * D + 61] = o15.y; out[at * D + 62] = o15.z; out[at * D + 63] = o15.w;
    lse[at] = select(0xff800000u, bitcast<u32>(row_max + log(row_sum)), row_kept);
  }
}

// Stipple tile-index builder for document_sparse: generated, do not edit.
const BM: i32 = 64;
const BN: i32 = 32;

@group(0) @binding(5) var<storage, read> head_list: array<u32>;
struct Lengths { q_len: i32, k_len: i32, heads: i32, kv_heads: i32, layers: i32, layer: i32 }
@group(0) @binding(6) var<uniform> lengths: Lengths;
@group(0) @binding(8) var<storage, read_write> tile_index: array<u32>;

@group(0) @binding(7) var<storage, read> aux: array<u32>;

fn aux_bit(slot: u32, leaf: i32, index: i32, count: i32) -> bool {
  if (index < 0 || index >= count) { return false; }
  let word = aux[aux[4u * slot] + aux[4u * slot + 1u] * u32(leaf) + u32(index) / 32u];
  return ((word >> (u32(index) % 32u)) & 1u) != 0u;
}

fn in_index(slot: u32, leaf: i32, value: i32) -> bool {
  return aux_bit(slot, leaf, value, i32(aux[4u * slot + 3u]));
}

fn in_blocks(slot: u32, leaf: i32, row: i32, col: i32) -> bool {
  let rows = i32(aux[4u * slot + 2u]);
  let cols = i32(aux[4u * slot + 3u]);
  if (row < 0 || row >= rows || col < 0 || col >= cols) { return false; }
  return aux_bit(slot, leaf, row * cols + col, rows * cols);
}

fn table_at(slot: u32, leaf: i32) -> bool {
  return aux[aux[4u * slot] + u32(leaf)] != 0u;
}

fn ids_at(slot: u32, position: i32) -> i32 {
  let count = i32(aux[4u * slot + 3u]);
  return bitcast<i32>(aux[aux[4u * slot] + u32(clamp(position, 0, count - 1))]);
}

fn floor_div(a: i32, b: i32) -> i32 {
  let t = a / b;
  return select(t, t - 1, (a % b != 0) && ((a < 0) != (b < 0)));
}

fn floor_mod(a: i32, b: i32) -> i32 {
  return a - b * floor_div(a, b);
}

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

fn classify(q: vec2<i32>, k: vec2<i32>, i: vec2<i32>, head: i32, kv_head: i32) -> u32 {
  let Q_LEN = lengths.q_len;
  let K_LEN = lengths.k_len;
  let HEADS = lengths.heads;
  let KV_HEADS = lengths.kv_heads;
  let LAYERS = lengths.layers;
  let LAYER = lengths.layer;
  return c_and(c_le(k, q), c_eq(ids_range(0u, q), ids_range(0u, k)));
}

// Gathered lines dense in a tile are visited with it (ir/plan/tile-index.ts, DenseLines).
fn dense_lines(q: vec2<i32>, k: vec2<i32>, head: i32, kv_head: i32) -> bool {
  let HEADS = lengths.heads;
  let KV_HEADS = lengths.kv_heads;
  let LAYERS = lengths.layers;
  let LAYER = lengths.layer;
  return false;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32) {
  let Q_LEN = lengths.q_len;
  let K_LEN = lengths.k_len;
  let tiles = (Q_LEN + BM - 1) / BM;
  let key_tiles = (K_LEN + BN - 1) / BN;
  let words = (key_tiles + 31) / 32;
  let at = i32((group.y * 65535u + group.x) * 64u + local);
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
    
    if (kind == 0u && !(lines && whole != 0u)) { continue; }
    touched |= 1u << u32(b);
    full |= select(0u, 1u << u32(b), whole == 2u);
  }
  let base = (i32(group.z) * tiles + tile) * 2 * words;
  tile_index[base + w] = touched;
  tile_index[base + words + w] = full;
}
