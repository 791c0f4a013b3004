// heads 0, 1
// Stipple attention kernel grid_sparse: generated, do not edit.
// f32 q/k/v, f32 math, head dim 64, 64 query rows × 32 keys per tile.
const BM: i32 = 64;
const BN: i32 = 32;
const D: i32 = 64;
const SCALE: f32 = 0.125;

@group(0) @binding(0) var<storage, read> q_in: array<f32>;
fn q_at(i: i32) -> f32 { return q_in[i]; }
@group(0) @binding(1) var<storage, read> k_in: array<f32>;
fn k_at(i: i32) -> f32 { return k_in[i]; }
@group(0) @binding(2) var<storage, read> v_in: array<f32>;
fn v_at(i: i32) -> f32 { return v_in[i]; }
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


var<workgroup> k_tile: array<f32, 2048>;
var<workgroup> v_tile: array<f32, 2048>;


var<private> q_row: array<f32, 64>;
var<private> acc: array<f32, 64>;
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

// The j-th member of the run (x - o) mod m < w, counting from o - m.
fn run_at(j: i32, o: i32, m: i32, w: i32) -> i32 {
  return o - m + m * (j / w) + j % w;
}

// The index of the run's first member >= x.
fn run_index(x: i32, o: i32, m: i32, w: i32) -> i32 {
  let y = x - o + m;
  if (y <= 0) { return 0; }
  return w * (y / m) + min(y % m, w);
}
const LATTICE_M: i32 = 16;
const LATTICE_W: i32 = 1;
// Key tiles the plain-tile regions visit (first, last), set once per workgroup.
var<private> covered_lo: array<i32, 2>;
var<private> covered_hi: array<i32, 2>;

fn lattice_key(j: i32, o: i32) -> i32 { return run_at(j, o, LATTICE_M, LATTICE_W); }
fn lattice_index(x: i32, o: i32) -> i32 { return run_index(x, o, LATTICE_M, LATTICE_W); }

fn tile_key(t: i32, j: i32, on_lattice: bool, o: i32) -> i32 {
  return select(t * BN + j, lattice_key(t * BN + j, o), on_lattice);
}

// Keys that a plain-tile region's visit counts already.
fn covered(key: i32) -> bool {
  let t = floor_div(key, BN);
  for (var n = 0; n < 2; n++) { if (t >= covered_lo[n] && t <= covered_hi[n]) { return true; } }
  return false;
}

fn keeps(q: i32, k: i32, i: i32, head: i32, kv_head: i32) -> bool {
  return ((k <= q) && (((floor_mod(k, 16) == 0) || (floor_mod(q, 16) == 0)) || ((q - k) < 64)));
}

// Visits key tile t, or lattice tile t when on_lattice (its keys gathered from K and V), then each valid
// row folds it into its softmax. Keys outside 0..K-1 are never loaded nor kept.
fn visit(t: i32, full: bool, on_lattice: bool, o: i32, local: i32, row: i32, head: i32, kv_head: i32) {
  let Q_LEN = q_len();
  let K_LEN = k_len();
  let k0 = t * BN;
  let count = select(min(BN, K_LEN - k0), BN, on_lattice);
  for (var e = local; e < BN * D; e += BM) {
    let j = e / D;
    let key = tile_key(t, j, on_lattice, o);
    if (j < count && key >= 0 && key < K_LEN) {
      let at = (kv_head * K_LEN + key) * D + e % D;
      k_tile[e] = k_at(at);
      v_tile[e] = v_at(at);
    }
  }
  workgroupBarrier();
  if (row < Q_LEN) {
    let q = K_LEN - Q_LEN + row;
    var scores: array<f32, 32>;
    var kept: array<bool, 32>;
    var any_kept = false;
    var block_max = 0.0;
    for (var j = 0; j < count; j++) {
      let key = tile_key(t, j, on_lattice, o);
      kept[j] = key >= 0 && key < K_LEN && (full || (keeps(q, key, row, head, kv_head) && !(on_lattice && covered(key))));
      if (kept[j]) {
        var dot = 0.0;
        for (var d = 0; d < D; d++) { dot += q_row[d] * k_tile[j * D + d]; }
        scores[j] = dot * SCALE;
        block_max = select(scores[j], max(block_max, scores[j]), any_kept);
        any_kept = true;
      }
    }
    if (any_kept) {
      let new_max = select(block_max, max(row_max, block_max), row_kept);
      let alpha = select(0.0, exp(row_max - new_max), row_kept);
      row_sum *= alpha;
      for (var d = 0; d < D; d++) { acc[d] *= alpha; }
      for (var j = 0; j < count; j++) {
        if (kept[j]) {
          let p = exp(scores[j] - new_max);
          row_sum += p;
          for (var d = 0; d < D; d++) { acc[d] += p * v_tile[j * D + d]; }
        }
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
  // Rows in 2 groups by position modulo 16; every group has the same number of workgroups,
  // and a narrower group spreads its rows over them, at least 16 a workgroup.
  let group_starts = array<i32, 2>(0, 1);
  let group_widths = array<i32, 2>(1, 15);
  let tiles_per_group = ceil_div(ceil_div(Q_LEN, 16) * 15, BM);
  let row_group = i32(group.x) / tiles_per_group;
  let tile = i32(group.x) % tiles_per_group;
  // Row r is in the group when its position's residue is in the run: (r - row_o) mod 16 < row_w.
  let row_w = group_widths[row_group];
  let row_o = floor_mod(group_starts[row_group] - (K_LEN - Q_LEN), 16);
  let group_j0 = run_index(0, row_o, 16, row_w);
  let group_j1 = run_index(Q_LEN, row_o, 16, row_w);
  let rows_per_tile = min(max(ceil_div(group_j1 - group_j0, tiles_per_group), 16), BM);
  let j0 = group_j0 + tile * rows_per_tile;
  let tile_rows = min(rows_per_tile, group_j1 - j0);
  if (tile_rows <= 0) { return; }
  // Positions of the workgroup's first and last query rows.
  let first = K_LEN - Q_LEN + run_at(j0, row_o, 16, row_w);
  let last = K_LEN - Q_LEN + run_at(j0 + tile_rows - 1, row_o, 16, row_w);
  let slot = select(-1, run_at(j0 + local, row_o, 16, row_w), local < tile_rows);
  let row = select(Q_LEN, slot % Q_LEN, slot >= 0 && slot < pack * Q_LEN);
  let head = i32(head_list[group.z * u32(pack) + u32(clamp(slot / Q_LEN, 0, pack - 1))]);
  row_max = 0.0;
  row_sum = 0.0;
  row_kept = false;
  for (var d = 0; d < D; d++) {
    acc[d] = 0.0;
    q_row[d] = select(0.0, q_at((head * Q_LEN + min(row, Q_LEN - 1)) * D + d), row < Q_LEN);
  }
  // region 0, on the key lattice
  // The lattice's keys for this workgroup: (k - r0_o) mod 16 < 1.
  let r0_o = floor_mod(0, 16);
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
      r0_lo = lattice_index(min_lo, r0_o) / 32;
      r0_hi = floor_div(lattice_index(max_hi + 1, r0_o) - 1, 32);
      if (row_lo == first && row_hi == last) {
        let max_lo = max(0, 0);
        let min_hi = min(min((K_LEN + (-1)), row_lo), min((K_LEN + (-1)), row_hi));
        if (max_lo <= min_hi) {
          r0_full_lo = ceil_div(lattice_index(max_lo, r0_o), 32);
          r0_full_hi = lattice_index(min_hi + 1, r0_o) / 32 - 1;
        }
      }
    }
  }
  // region 1
  var r1_lo = 1; var r1_hi = 0; var r1_full_lo = 1; var r1_full_hi = 0;
  {
    var row_lo = first;
    var row_hi = last;
    if (floor_mod(first, 16) >= 1) { row_lo = row_hi + 1; }
    if ((K_LEN + (-1)) < 0) { row_lo = row_hi + 1; }
    row_lo = max(row_lo, ceil_div(0, 1));
    if (row_lo <= row_hi) {
      var min_lo = min(0, 0);
      
      var max_hi = max(min((K_LEN + (-1)), row_lo), min((K_LEN + (-1)), row_hi));
      { let c = floor_div((-1 * K_LEN + 1), -1); if (row_lo < c && c < row_hi) { max_hi = max(max_hi, min((K_LEN + (-1)), c)); } if (row_lo < c + 1 && c + 1 < row_hi) { max_hi = max(max_hi, min((K_LEN + (-1)), (c + 1))); } }
      r1_lo = floor_div(min_lo, 32);
      r1_hi = floor_div(max_hi, 32);
      if (row_lo == first && row_hi == last) {
        let max_lo = max(0, 0);
        let min_hi = min(min((K_LEN + (-1)), row_lo), min((K_LEN + (-1)), row_hi));
        if (max_lo <= min_hi) {
          r1_full_lo = ceil_div(max_lo, 32);
          r1_full_hi = select(floor_div(min_hi + 1, 32) - 1, floor_div(K_LEN - 1, 32), min_hi >= K_LEN - 1);
        }
      }
    }
  }
  // region 2
  var r2_lo = 1; var r2_hi = 0; var r2_full_lo = 1; var r2_full_hi = 0;
  {
    var row_lo = first;
    var row_hi = last;
    if ((K_LEN + (-1)) < 0) { row_lo = row_hi + 1; }
    row_lo = max(row_lo, ceil_div(0, 1));
    row_hi = min(row_hi, floor_div((K_LEN + 62), 1));
    if (row_lo <= row_hi) {
      var min_lo = min(max(0, (row_lo + (-63))), max(0, (row_hi + (-63))));
      { let c = floor_div((-63), -1); if (row_lo < c && c < row_hi) { min_lo = min(min_lo, max(0, (c + (-63)))); } if (row_lo < c + 1 && c + 1 < row_hi) { min_lo = min(min_lo, max(0, ((c + 1) + (-63)))); } }
      var max_hi = max(min((K_LEN + (-1)), row_lo), min((K_LEN + (-1)), row_hi));
      { let c = floor_div((-1 * K_LEN + 1), -1); if (row_lo < c && c < row_hi) { max_hi = max(max_hi, min((K_LEN + (-1)), c)); } if (row_lo < c + 1 && c + 1 < row_hi) { max_hi = max(max_hi, min((K_LEN + (-1)), (c + 1))); } }
      r2_lo = floor_div(min_lo, 32);
      r2_hi = floor_div(max_hi, 32);
      if (row_lo == first && row_hi == last) {
        let max_lo = max(max(0, (row_lo + (-63))), max(0, (row_hi + (-63))));
        let min_hi = min(min((K_LEN + (-1)), row_lo), min((K_LEN + (-1)), row_hi));
        if (max_lo <= min_hi) {
          r2_full_lo = ceil_div(max_lo, 32);
          r2_full_hi = select(floor_div(min_hi + 1, 32) - 1, floor_div(K_LEN - 1, 32), min_hi >= K_LEN - 1);
        }
      }
    }
  }
  covered_lo[0] = r1_lo; covered_hi[0] = r1_hi;
  covered_lo[1] = r2_lo; covered_hi[1] = r2_hi;
  let count0 = max(0, r0_hi - max(r0_lo, 0) + 1);
  let count1 = max(0, r1_hi - max(r1_lo, 0) + 1);
  let count2 = max(0, r2_hi - max(r2_lo, 0) + 1);
  for (var v = 0; v < count0 + count1 + count2; v++) {
    var region = 0;
    var t = 0;
    if (v < count0) { region = 0; t = max(r0_lo, 0) + v - (0); } else if (v < count0 + count1) { region = 1; t = max(r1_lo, 0) + v - (count0); } else { region = 2; t = max(r2_lo, 0) + v - (count0 + count1); }
    if (region == 2 && ((t >= r1_lo && t <= r1_hi))) { continue; }
    let span_lo = lattice_key(t * BN, r0_o);
    let span_hi = lattice_key(t * BN + BN - 1, r0_o);
    let overlaps = (r1_lo <= r1_hi && span_lo < (r1_hi + 1) * BN && span_hi >= r1_lo * BN)
      || (r2_lo <= r2_hi && span_lo < (r2_hi + 1) * BN && span_hi >= r2_lo * BN);
    let lattice_full = t >= r0_full_lo && t <= r0_full_hi && !overlaps;
    if (floor_mod(v, splits) == split) { visit(t, select((t >= r1_full_lo && t <= r1_full_hi) || (t >= r2_full_lo && t <= r2_full_hi), lattice_full, region == 0), region == 0, r0_o, local, row, head, kv_head); }
  }
  if (row < Q_LEN) {
    let at = (split * HEADS + head) * Q_LEN + row;
    for (var d = 0; d < D; d++) { out[at * D + d] = select(0.0, acc[d] / row_sum, row_kept); }
    lse[at] = select(0xff800000u, bitcast<u32>(row_max + log(row_sum)), row_kept);
  }
}
