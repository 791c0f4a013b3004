import type { Dtype } from "../../../ir/kernel/kernel.js";
import { tensorBindings } from "../emit.js";
import { wgslCapabilities } from "../schedule.js";
import { orderKeyWgsl } from "./select-top.js";

/**
 * The vertical-slash estimator on the device (reference: ir/estimate/vertical-slash.ts), three kernels before
 * the shared top-n selection:
 * 1. probabilities: the last rows' logits, one invocation per key and head (its K row in private memory,
 *    q rows staged in workgroup memory), then one workgroup per head and row turns them into the row's
 *    causal softmax, in a scratch buffer [head][row][K] (0 past the row's position) that holds a chunk of
 *    heads (verticalSlashHeadChunk), head0 on: the three kernels run once per chunk;
 * 2. columns: one invocation per head and key sums its column; the first columns are forced (+∞);
 * 3. diagonals: one invocation per head and offset o sums p[row][position − o]; the near offsets are forced.
 * Scores leave as order keys [head][K] (one buffer for columns, one for offsets) for the selection.
 */
export const estimatorWorkgroup = 64;

const header = (dtype: Dtype): string => `${tensorBindings(dtype)}
// head0: the first head of this pass; the probabilities hold its chunk of heads (slice = group.z).
struct Estimate { q_len: i32, k_len: i32, heads: i32, kv_heads: i32, rows: i32, head_dim: i32, first_columns: i32, near_diagonals: i32, head0: i32, scale: f32 }
@group(0) @binding(3) var<uniform> params: Estimate;
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;
`;

/** A workgroup max or sum over the estimators' workgroups, `reduce(local, value, is_max)`. */
export const workgroupReduceWgsl = `
var<workgroup> partial: array<f32, ${estimatorWorkgroup}>;

// A workgroup max or sum (every invocation gets the result).
fn reduce(local: u32, value: f32, is_max: bool) -> f32 {
  workgroupBarrier();
  partial[local] = value;
  for (var stride = ${estimatorWorkgroup / 2}u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (local < stride) {
      let other = partial[local + stride];
      partial[local] = select(partial[local] + other, max(partial[local], other), is_max);
    }
  }
  return workgroupUniformLoad(&partial[0]);
}
`;

/**
 * The last rows' logits, one invocation per key, as the attention kernel computes its scores: the key's row
 * of K in private memory, the last rows of q staged through workgroup memory a tile of rows at a time (every
 * lane reads the same element: a broadcast), so each K row and each q row is read from storage once per
 * workgroup, not once per pair.
 */
export function verticalSlashLogitsWgsl(dtype: Dtype, headDim: number): string {
  const rowsPerTile = logitRowsPerTile(headDim);
  return `// Stipple estimator: vertical-slash, logits of the last query rows (generated, do not edit).
${header(dtype)}
const ROWS_PER_TILE: i32 = ${rowsPerTile};
var<private> k_row: array<f32, ${headDim}>;
var<workgroup> q_tile: array<f32, ${rowsPerTile * headDim}>;

@compute @workgroup_size(${estimatorWorkgroup})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local_index: u32) {
  let Q = params.q_len;
  let K = params.k_len;
  let slice = i32(group.z);
  let head = params.head0 + slice;
  let kv_head = head * params.kv_heads / params.heads;
  let local = i32(local_index);
  let key = i32(group.x) * ${estimatorWorkgroup} + local;
  // Past the keys, a lane still helps stage q and meets every barrier.
  let valid = key < K;
  for (var d = 0; d < ${headDim}; d++) { k_row[d] = select(0.0, k_at((kv_head * K + min(key, K - 1)) * ${headDim} + d), valid); }
  for (var r0 = 0; r0 < params.rows; r0 += ROWS_PER_TILE) {
    let tile_rows = min(ROWS_PER_TILE, params.rows - r0);
    workgroupBarrier();
    for (var e = local; e < tile_rows * ${headDim}; e += ${estimatorWorkgroup}) {
      q_tile[e] = q_at((head * Q + Q - params.rows + r0) * ${headDim} + e);
    }
    workgroupBarrier();
    for (var r = 0; r < tile_rows; r++) {
      let row = Q - params.rows + r0 + r;
      // Keys past the row's position are never read (the softmax stops at the position).
      if (!valid || key > K - Q + row) { continue; }
      var dot = 0.0;
      for (var d = 0; d < ${headDim}; d++) { dot += q_tile[r * ${headDim} + d] * k_row[d]; }
      probs[(slice * params.rows + r0 + r) * K + key] = dot * params.scale;
    }
  }
}
`;
}

/** Rows of q the logits kernel stages at once: what fits every adapter's workgroup memory, as f32. */
export function logitRowsPerTile(headDim: number): number {
  return Math.max(1, Math.floor(wgslCapabilities.workgroupStorageBytes / (4 * headDim)));
}

/** Each last row's causal softmax over its logits, in place (0 past the row's position): a workgroup per row and head. */
export function verticalSlashSoftmaxWgsl(dtype: Dtype): string {
  return `// Stipple estimator: vertical-slash, softmax of the last query rows (generated, do not edit).
${header(dtype)}${workgroupReduceWgsl}
@compute @workgroup_size(${estimatorWorkgroup})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32) {
  let Q = params.q_len;
  let K = params.k_len;
  let slice = i32(group.z);
  let r = i32(group.x);
  let position = K - Q + (Q - params.rows + r);
  let row_base = (slice * params.rows + r) * K;
  var row_max = -3.0e38;
  for (var key = i32(local); key <= position; key += ${estimatorWorkgroup}) { row_max = max(row_max, probs[row_base + key]); }
  let m = reduce(local, row_max, true);
  var sum = 0.0;
  for (var key = i32(local); key <= position; key += ${estimatorWorkgroup}) { sum += exp(probs[row_base + key] - m); }
  let total = reduce(local, sum, false);
  for (var key = i32(local); key < K; key += ${estimatorWorkgroup}) {
    probs[row_base + key] = select(0.0, exp(probs[row_base + key] - m) / total, key <= position);
  }
}
`;
}

/** Column sums (`diagonal` false) or diagonal sums (true) of the probabilities, as order keys. */
export function verticalSlashScoresWgsl(dtype: Dtype, diagonal: boolean): string {
  return `// Stipple estimator: vertical-slash, ${diagonal ? "diagonal" : "column"} scores (generated, do not edit).
${header(dtype)}${orderKeyWgsl}
@group(0) @binding(5) var<storage, read_write> keys: array<u32>;

@compute @workgroup_size(${estimatorWorkgroup})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let Q = params.q_len;
  let K = params.k_len;
  let slice = i32(id.z);
  let head = params.head0 + slice;
  let at = i32(id.x);
  if (at >= K) { return; }
  var sum = 0.0;
  for (var r = 0; r < params.rows; r++) {
    ${diagonal
      ? "let key = K - Q + (Q - params.rows + r) - at;\n    if (key >= 0) { sum += probs[(slice * params.rows + r) * K + key]; }"
      : "sum += probs[(slice * params.rows + r) * K + at];"}
  }
  let forced = at < ${diagonal ? "params.near_diagonals" : "params.first_columns"};
  keys[head * K + at] = select(order_key(sum), POS_INF_KEY, forced);
}
`;
}
