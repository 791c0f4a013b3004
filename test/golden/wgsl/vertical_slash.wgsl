// heads 0, 1
// Stipple attention kernel vertical_slash_sparse: generated, do not edit.
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


var<workgroup> k_tile: array<f32, 2048>;
var<workgroup> v_tile: array<f32, 2048>;
@group(0) @binding(8) var<storage, read> tile_index: array<u32>;
var<workgroup> plan_words: array<u32, 2>;
// The gathered columns of one visit, and how many (written by invocation 0).
var<workgroup> gather_keys: array<i32, 32>;
var<workgroup> gather_count: i32;
// The gather paths' filtered list words, one per invocation (the column path's, then the diagonal path's).
var<workgroup> gather_bits: array<u32, 64>;
// Which of the diagonal path's filtered offset words in gather_bits are not empty.
var<workgroup> diagonal_nonzero: array<atomic<u32>, 2>;

fn key_tile_visited(index_base: i32, key_tile: i32) -> bool {
  return ((tile_index[index_base + key_tile / 32] >> u32(key_tile % 32)) & 1u) == 1u;
}


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
  return c_and(c_le(k, q), c_or(in_index_class(0u, head, k), in_index_class(1u, head, r_sub(q, k))));
}

fn keeps(q: i32, k: i32, i: i32, head: i32, kv_head: i32) -> bool {
  return ((k <= q) && (in_index(0u, head, k) || in_index(1u, head, (q - k))));
}

// Visits key tile t: loads it (every invocation helps), then each valid row folds it into its softmax.
fn visit(t: i32, full: bool, local: i32, row: i32, head: i32, kv_head: i32) {
  let Q_LEN = q_len();
  let K_LEN = k_len();
  let k0 = t * BN;
  let count = min(BN, K_LEN - k0);
  for (var e = local; e < BN * D; e += BM) {
    let j = e / D;
    if (j < count) {
      let at = (kv_head * K_LEN + k0 + j) * D + e % D;
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
      kept[j] = full || keeps(q, k0 + j, row, head, kv_head);
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
// Visits the gathered columns gather_keys[0 .. count): loads their K and V rows, then each valid row folds them in.
fn visit_columns(count: i32, local: i32, row: i32, head: i32, kv_head: i32) {
  let Q_LEN = q_len();
  let K_LEN = k_len();
  for (var e = local; e < BN * D; e += BM) {
    let j = e / D;
    if (j < count) {
      let at = (kv_head * K_LEN + gather_keys[j]) * D + e % D;
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
      kept[j] = keeps(q, gather_keys[j], row, head, kv_head);
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
// Folds the row's keys diagonal_keys[0 .. count) into its softmax, K and V read directly.
fn fold_direct(keys: ptr<function, array<i32, 32>>, count: i32, q: i32, kv_head: i32) {
  let K_LEN = k_len();
  var scores: array<f32, 32>;
  var block_max = 0.0;
  for (var j = 0; j < count; j++) {
    var dot = 0.0;
    let base = (kv_head * K_LEN + (*keys)[j]) * D;
    for (var d = 0; d < D; d++) { dot += q_row[d] * k_at(base + d); }
    scores[j] = dot * SCALE;
    block_max = select(scores[j], max(block_max, scores[j]), j > 0);
  }
  let new_max = select(block_max, max(row_max, block_max), row_kept);
  let alpha = select(0.0, exp(row_max - new_max), row_kept);
  row_sum *= alpha;
  for (var d = 0; d < D; d++) { acc[d] *= alpha; }
  for (var j = 0; j < count; j++) {
    let p = exp(scores[j] - new_max);
    row_sum += p;
    let base = (kv_head * K_LEN + (*keys)[j]) * D;
    for (var d = 0; d < D; d++) { acc[d] += p * v_at(base + d); }
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
  var keys: array<i32, 32>;
  var count = 0;
  // Offsets above the tile's last position give keys below 0: the words past last / 32 hold none it can use.
  let words = min(last / 32 + 1, (K_LEN + 31) / 32);
  for (var chunk = 0; chunk < words; chunk += BM) {
    workgroupBarrier();
    if (local < 2) { atomicStore(&diagonal_nonzero[local], 0u); }
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
      for (var f = 0; f < 2; f++) {
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
            if (((aux[column_base + u32(key) / 32u] >> (u32(key) % 32u)) & 1u) == 1u) { continue; }
            if (!keeps(q, key, row, head, kv_head)) { continue; }
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
  for (var d = 0; d < D; d++) {
    acc[d] = 0.0;
    q_row[d] = select(0.0, q_at((head * Q_LEN + min(row, Q_LEN - 1)) * D + d), row < Q_LEN);
  }
  let tiles = (Q_LEN + BM - 1) / BM;
  let words = ((K_LEN + BN - 1) / BN + 31) / 32;
  let index_base = (i32(group.z) * tiles + tile) * 2 * words;
  for (var w = 0; w < words; w++) {
    workgroupBarrier();
    if (local == 0) {
      plan_words[0] = tile_index[index_base + w];
      plan_words[1] = tile_index[index_base + words + w];
    }
    var touched = workgroupUniformLoad(&plan_words[0]);
    let full_bits = workgroupUniformLoad(&plan_words[1]);
    while (touched != 0u) {
      let bit = firstTrailingBit(touched);
      touched &= touched - 1u;
      let t = w * 32 + i32(bit);
      if (t % splits == split) { visit(t, ((full_bits >> bit) & 1u) == 1u, local, row, head, kv_head); }
    }
  }
  // Gathered columns: keys of vertical outside the visited tiles.
  let column_base = aux[4u * 0u] + aux[4u * 0u + 1u] * u32(head);
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
  }
  // Gathered diagonals: per row, keys q - o for the offsets in slash outside the visited tiles and columns.
  visit_diagonals(aux[4u * 1u] + aux[4u * 1u + 1u] * u32(head), column_base, index_base, first, last, split, splits, local, row, head, kv_head);
  if (row < Q_LEN) {
    let at = (split * HEADS + head) * Q_LEN + row;
    for (var d = 0; d < D; d++) { out[at * D + d] = select(0.0, acc[d] / row_sum, row_kept); }
    lse[at] = select(0xff800000u, bitcast<u32>(row_max + log(row_sum)), row_kept);
  }
}

// Stipple tile-index builder for vertical_slash_sparse: generated, do not edit.
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
  return 0u;
}

fn classify_whole(q: vec2<i32>, k: vec2<i32>, i: vec2<i32>, head: i32, kv_head: i32) -> u32 {
  let Q_LEN = lengths.q_len;
  let K_LEN = lengths.k_len;
  let HEADS = lengths.heads;
  let KV_HEADS = lengths.kv_heads;
  let LAYERS = lengths.layers;
  let LAYER = lengths.layer;
  return c_and(c_le(k, q), c_or(in_index_class(0u, head, k), in_index_class(1u, head, r_sub(q, k))));
}

// Gathered lines dense in a tile are visited with it (ir/plan/tile-index.ts, DenseLines).
fn dense_lines(q: vec2<i32>, k: vec2<i32>, head: i32, kv_head: i32) -> bool {
  let HEADS = lengths.heads;
  let KV_HEADS = lengths.kv_heads;
  let LAYERS = lengths.layers;
  let LAYER = lengths.layer;
  return index_members(0u, head, k) >= 8 || index_members(1u, head, rng(q.x - k.y, q.y - k.x)) >= 16;
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
    let kind = classify(rows + vec2<i32>(K_LEN - Q_LEN), keys, rows, head, kv_head);
    let dense = kind == 0u && dense_lines(rows + vec2<i32>(K_LEN - Q_LEN), keys, head, kv_head);
    if (kind == 0u && !dense) { continue; }
    touched |= 1u << u32(b);
    // Full when the whole mask keeps every pair (gathered lines can fill a touched tile; ir/plan/tile-index.ts).
    full |= select(0u, 1u << u32(b), kind == 2u || classify_whole(rows + vec2<i32>(K_LEN - Q_LEN), keys, rows, head, kv_head) == 2u);
  }
  let base = (i32(group.z) * tiles + tile) * 2 * words;
  tile_index[base + w] = touched;
  tile_index[base + words + w] = full;
}
