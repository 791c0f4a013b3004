// heads 0, 1
// Stipple attention kernel prefix_lm_sparse: generated, do not edit.
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


// K and V tiles: key j's quad c at j * QUADS + c.
var<workgroup> k_tile: array<vec4<f32>, 512>;
var<workgroup> v_tile: array<vec4<f32>, 512>;


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
  return ((k <= q) || (k < 1024));
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
  // region 0
  var r0_lo = 1; var r0_hi = 0; var r0_full_lo = 1; var r0_full_hi = 0;
  {
    var row_lo = first;
    var row_hi = last;
    if ((K_LEN + (-1)) < 0) { row_lo = row_hi + 1; }
    row_lo = max(row_lo, ceil_div(0, 1));
    if (row_lo <= row_hi) {
      var min_lo = min(0, 0);
      
      var max_hi = max(min((K_LEN + (-1)), row_lo), min((K_LEN + (-1)), row_hi));
      { let c = floor_div((-1 * K_LEN + 1), -1); if (row_lo < c && c < row_hi) { max_hi = max(max_hi, min((K_LEN + (-1)), c)); } if (row_lo < c + 1 && c + 1 < row_hi) { max_hi = max(max_hi, min((K_LEN + (-1)), (c + 1))); } }
      r0_lo = floor_div(min_lo, 32);
      r0_hi = floor_div(max_hi, 32);
      if (row_lo == first && row_hi == last) {
        let max_lo = max(0, 0);
        let min_hi = min(min((K_LEN + (-1)), row_lo), min((K_LEN + (-1)), row_hi));
        if (max_lo <= min_hi) {
          r0_full_lo = ceil_div(max_lo, 32);
          r0_full_hi = select(floor_div(min_hi + 1, 32) - 1, floor_div(K_LEN - 1, 32), min_hi >= K_LEN - 1);
        }
      }
    }
  }
  // region 1
  var r1_lo = 1; var r1_hi = 0; var r1_full_lo = 1; var r1_full_hi = 0;
  {
    var row_lo = first;
    var row_hi = last;
    if ((K_LEN + (-1)) < 0) { row_lo = row_hi + 1; }
    if (row_lo <= row_hi) {
      var min_lo = min(0, 0);
      
      var max_hi = max(min((K_LEN + (-1)), 1023), min((K_LEN + (-1)), 1023));
      
      r1_lo = floor_div(min_lo, 32);
      r1_hi = floor_div(max_hi, 32);
      if (row_lo == first && row_hi == last) {
        let max_lo = max(0, 0);
        let min_hi = min(min((K_LEN + (-1)), 1023), min((K_LEN + (-1)), 1023));
        if (max_lo <= min_hi) {
          r1_full_lo = ceil_div(max_lo, 32);
          r1_full_hi = select(floor_div(min_hi + 1, 32) - 1, floor_div(K_LEN - 1, 32), min_hi >= K_LEN - 1);
        }
      }
    }
  }
  let count0 = max(0, r0_hi - max(r0_lo, 0) + 1);
  let count1 = max(0, r1_hi - max(r1_lo, 0) + 1);
  for (var v = 0; v < count0 + count1; v++) {
    var region = 0;
    var t = 0;
    if (v < count0) { region = 0; t = max(r0_lo, 0) + v - (0); } else { region = 1; t = max(r1_lo, 0) + v - (count0); }
    if (region == 1 && ((t >= r0_lo && t <= r0_hi))) { continue; }
    if (floor_mod(v, splits) == split) { visit(t, (t >= r0_full_lo && t <= r0_full_hi) || (t >= r1_full_lo && t <= r1_full_hi), local, row, head, kv_head); }
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
