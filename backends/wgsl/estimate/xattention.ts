import type { Dtype } from "../../../ir/kernel/kernel.js";
import { tensorBindings } from "../emit.js";
import { orderKeyWgsl } from "./select-top.js";
import { estimatorWorkgroup, workgroupReduceWgsl } from "./vertical-slash.js";

/**
 * XAttention on the device (reference: ir/estimate/xattention.ts), one kernel before the shared top-n
 * selection. One workgroup per head and query block:
 * 1. per cell row of the block (stride query rows, staged in workgroup memory): every cell's anti-diagonal
 *    score into a scratch row, a workgroup max and sum, then each invocation adds the probabilities of the
 *    cells of its own key blocks to their masses (no two invocations write one mass);
 * 2. the block's selection size: the forced blocks (first, diagonal) plus the fewest candidates, heaviest
 *    first, whose mass reaches the need (threshold × total − forced mass). The heaviest-first cut is found
 *    bit by bit over the candidates' order keys, as the top-n selection finds its threshold: the largest
 *    key T whose candidates at or above it carry the need; then all above T and enough ties at T.
 * The masses leave as order keys (forced +∞, non-causal −∞) and the sizes as per-problem limits, so the
 * shared selection (ties to the lower index) sets exactly the blocks the count chose.
 */
export function xattentionMassWgsl(dtype: Dtype, headDim: number, stride: number): string {
  return `// Stipple estimator: XAttention anti-diagonal block masses and selection sizes (generated, do not edit).
${tensorBindings(dtype)}${orderKeyWgsl}
struct Estimate { q_len: i32, k_len: i32, heads: i32, kv_heads: i32, block: i32, row_blocks: i32, col_blocks: i32, threshold: f32, scale: f32 }
@group(0) @binding(3) var<uniform> params: Estimate;
@group(0) @binding(4) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(5) var<storage, read_write> masses: array<f32>;
@group(0) @binding(6) var<storage, read_write> keys: array<u32>;
@group(0) @binding(7) var<storage, read_write> limits: array<u32>;

const S: i32 = ${stride};
const D: i32 = ${headDim};
const WG: i32 = ${estimatorWorkgroup};
// Below every score: marks cells with no causal pair (excluded from the softmax).
const NO_SCORE: f32 = -3.0e38;
// The cell row's query rows along the anti-diagonal: q_cell[s] is row aS + S - 1 - s (0 past Q).
var<workgroup> q_cell: array<f32, ${stride * headDim}>;
${workgroupReduceWgsl}
fn from_order_key(key: u32) -> f32 {
  return bitcast<f32>(select(~key, key & 0x7fffffffu, (key & 0x80000000u) != 0u));
}

// Candidates (causal, not forced) with a key at or above t (strictly above when strict): their mass and count.
fn tally(base: i32, local: u32, t: u32, strict: bool) -> vec2<f32> {
  var mass = 0.0;
  var count = 0.0;
  for (var c = i32(local); c < params.col_blocks; c += WG) {
    let key = keys[base + c];
    let candidate = key != NEG_INF_KEY && key != POS_INF_KEY;
    if (candidate && select(key >= t, key > t, strict)) {
      mass += masses[base + c];
      count += 1.0;
    }
  }
  return vec2<f32>(reduce(local, mass, false), reduce(local, count, false));
}

@compute @workgroup_size(${estimatorWorkgroup})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32) {
  let Q = params.q_len;
  let K = params.k_len;
  let head = i32(group.z);
  let kv_head = head * params.kv_heads / params.heads;
  let b = i32(group.x);
  let problem = head * params.row_blocks + b;
  let cell_cols = (K + S - 1) / S;
  let cells_per_block = params.block / S;
  let scratch_base = problem * cell_cols;
  let base = problem * params.col_blocks;
  for (var c = i32(local); c < params.col_blocks; c += WG) { masses[base + c] = 0.0; }
  let first_cell = b * cells_per_block;
  let end_cell = min((Q + S - 1) / S, first_cell + cells_per_block);
  for (var a = first_cell; a < end_cell; a++) {
    // Cells past the row's last position hold no causal pair: the row's scores stop there.
    let row_cells = min(cell_cols, (K - Q + min(Q - 1, a * S + S - 1)) / S + 1);
    storageBarrier();
    for (var at = i32(local); at < S * D; at += WG) {
      let row = a * S + S - 1 - at / D;
      q_cell[at] = select(0.0, q_at((head * Q + min(row, Q - 1)) * D + at % D), row < Q);
    }
    workgroupBarrier();
    var row_max = NO_SCORE;
    for (var c = i32(local); c < row_cells; c += WG) {
      var dot = 0.0;
      var terms = 0;
      for (var s = 0; s < S; s++) {
        let row = a * S + S - 1 - s;
        let key = c * S + s;
        if (row < Q && key < K && key <= K - Q + row) {
          for (var d = 0; d < D; d++) { dot += q_cell[s * D + d] * k_at((kv_head * K + key) * D + d); }
          terms++;
        }
      }
      let score = select(NO_SCORE, dot * params.scale / f32(S), terms > 0);
      scratch[scratch_base + c] = score;
      row_max = max(row_max, score);
    }
    row_max = reduce(local, row_max, true);
    if (row_max == NO_SCORE) { continue; }
    var sum = 0.0;
    for (var c = i32(local); c < row_cells; c += WG) {
      let score = scratch[scratch_base + c];
      sum += select(0.0, exp(score - row_max), score != NO_SCORE);
    }
    sum = reduce(local, sum, false);
    storageBarrier();
    for (var kb = i32(local); kb < params.col_blocks; kb += WG) {
      var mass = 0.0;
      for (var c = kb * cells_per_block; c < min(row_cells, (kb + 1) * cells_per_block); c++) {
        let score = scratch[scratch_base + c];
        mass += select(0.0, exp(score - row_max), score != NO_SCORE);
      }
      masses[base + kb] += mass / sum;
    }
  }
  storageBarrier();
  let first = K - Q + b * params.block;
  let last = K - Q + min(Q, (b + 1) * params.block) - 1;
  var total = 0.0;
  var forced_mass = 0.0;
  var forced = 0.0;
  for (var c = i32(local); c < params.col_blocks; c += WG) {
    let mass = masses[base + c];
    total += mass;
    let causal = c * params.block <= last;
    var key = NEG_INF_KEY;
    if (causal && (c == 0 || (c + 1) * params.block - 1 >= first)) {
      key = POS_INF_KEY;
      forced_mass += mass;
      forced += 1.0;
    } else if (causal) {
      key = order_key(mass);
    }
    keys[base + c] = key;
  }
  total = reduce(local, total, false);
  forced_mass = reduce(local, forced_mass, false);
  forced = reduce(local, forced, false);
  let need = params.threshold * total - forced_mass;
  var extra = 0u;
  if (need > 0.0) {
    let all = tally(base, local, 0u, false);
    if (all.x < need) {
      extra = u32(all.y);
    } else {
      var t = 0u;
      for (var bit = 31i; bit >= 0i; bit--) {
        let candidate = t | (1u << u32(bit));
        if (tally(base, local, candidate, false).x >= need) { t = candidate; }
      }
      let above = tally(base, local, t, true);
      let ties = u32(tally(base, local, t, false).y - above.y);
      let tie_mass = from_order_key(t);
      let wanted = select(ties, u32(ceil((need - above.x) / tie_mass)), tie_mass > 0.0);
      extra = u32(above.y) + clamp(wanted, 1u, ties);
    }
  }
  if (local == 0u) { limits[problem] = u32(forced) + extra; }
}
`;
}
