import type { Dtype } from "../../../ir/kernel/kernel.js";
import { tensorBindings } from "../emit.js";
import { qDotWgsl, quadsOf, sum4Wgsl } from "../quads.js";
import { wgslCapabilities } from "../schedule.js";
import { orderKeyWgsl } from "./select-top.js";

/**
 * The vertical-slash estimator on the device (reference: ir/estimate/vertical-slash.ts), three kernels before
 * the shared top-n selection:
 * 1. logits: the last rows' logits, one invocation per key and head (its K row in registers, q rows staged
 *    in workgroup memory), into a scratch buffer [head][row][K] that holds a chunk of heads
 *    (verticalSlashHeadChunk), head0 on: the kernels run once per chunk;
 * 2. softmax: one workgroup per head and row turns its logits into the row's causal softmax, in place (0
 *    past the row's position);
 * 3. scores: one invocation per head and index `at` sums column `at` (the first columns are forced, +∞) and
 *    diagonal `at`, p[row][position − at] (the near offsets are forced).
 * Scores leave as order keys [head][K] (one buffer for columns, one for offsets) for the selection.
 */
export const estimatorWorkgroup = 64;

const header = (dtype: Dtype): string => `${tensorBindings(dtype)}
// head0: the first head of this pass; the probabilities hold its chunk of heads (slice = group.z).
struct Estimate { q_len: i32, k_len: i32, heads: i32, kv_heads: i32, rows: i32, head_dim: i32, first_columns: i32, near_diagonals: i32, head0: i32, scale: f32 }
@group(0) @binding(3) var<uniform> params: Estimate;
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;
`;

/**
 * A workgroup max or sum over the estimators' workgroups, `reduce(local, value, is_max)`. Invocation 0 folds
 * the workgroup's values alone, after one barrier: a tree would take log2(64) = 6 barriers, and on a CPU
 * adapter a barrier (every invocation's fiber switched) costs far more than 63 additions.
 */
export const workgroupReduceWgsl = `
var<workgroup> partial: array<f32, ${estimatorWorkgroup}>;

// A workgroup max or sum (every invocation gets the result).
fn reduce(local: u32, value: f32, is_max: bool) -> f32 {
  workgroupBarrier();
  partial[local] = value;
  workgroupBarrier();
  if (local == 0u) {
    var total = partial[0];
    for (var i = 1u; i < ${estimatorWorkgroup}u; i++) { total = select(total + partial[i], max(total, partial[i]), is_max); }
    partial[0] = total;
  }
  return workgroupUniformLoad(&partial[0]);
}
`;

/**
 * The last rows' logits, as the attention kernel computes its scores: each invocation holds the rows of K of
 * `keysPerInvocation` keys (64 apart, so neighbouring lanes hold neighbouring keys) in D / 4 vec4 values
 * each, and the last rows of q are staged through workgroup memory a tile of rows at a time (every lane
 * reads the same element: a broadcast), so each K row and each q row is read from storage once per
 * workgroup, not once per pair, and each staged quad of q serves all the invocation's keys. The dot products are printed
 * unrolled: a private array walked by a loop lives in memory on software adapters (a load per multiply-add,
 * and the loop's own work); with constant indices the K rows stay in registers, which halves the kernel's
 * time on SwiftShader.
 */
export function verticalSlashLogitsWgsl(dtype: Dtype, headDim: number, keysPerInvocation: number): string {
  const rowsPerTile = logitRowsPerTile(headDim);
  const quads = quadsOf(headDim);
  const keys = Array.from({ length: keysPerInvocation }, (_, n) => n);
  return `// Stipple estimator: vertical-slash, logits of the last query rows (generated, do not edit).
${header(dtype)}
const ROWS_PER_TILE: i32 = ${rowsPerTile};
// q rows as vec4s: element c of row r is q_tile[r * ${headDim / 4} + c].
var<workgroup> q_tile: array<vec4<f32>, ${(rowsPerTile * headDim) / 4}>;
${sum4Wgsl}
@compute @workgroup_size(${estimatorWorkgroup})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local_index: u32) {
  let Q = params.q_len;
  let K = params.k_len;
  let slice = i32(group.z);
  let head = params.head0 + slice;
  let kv_head = head * params.kv_heads / params.heads;
  let local = i32(local_index);
  // Each key's position and row of K (zero past the keys: such a lane still helps stage q and meets every barrier).
${keys.map((n) => `  let key${n} = i32(group.x) * ${estimatorWorkgroup * keysPerInvocation} + ${n * estimatorWorkgroup} + local;
  let k_base${n} = (kv_head * K + min(key${n}, K - 1)) * ${headDim};
${quads.map((c) => `  let k${n}_${c} = select(vec4<f32>(0.0), k_quad(k_base${n} + ${4 * c}), key${n} < K);`).join("\n")}`).join("\n")}
  for (var r0 = 0; r0 < params.rows; r0 += ROWS_PER_TILE) {
    let tile_rows = min(ROWS_PER_TILE, params.rows - r0);
    workgroupBarrier();
    let q_base = (head * Q + Q - params.rows + r0) * ${headDim};
    for (var e = local; e < tile_rows * ${headDim / 4}; e += ${estimatorWorkgroup}) {
      q_tile[e] = q_quad(q_base + 4 * e);
    }
    workgroupBarrier();
    for (var r = 0; r < tile_rows; r++) {
      // Keys past the row's position are never read (the softmax stops at the position).
      let position = K - Q + (Q - params.rows + r0 + r);
      if (key0 > position || key0 >= K) { continue; }
      let at = r * ${headDim / 4};
${quads.map((c) => `      let x${c} = q_tile[at + ${c}];`).join("\n")}
      let out_base = (slice * params.rows + r0 + r) * K;
${keys.map((n) => `      ${n === 0 ? "" : `if (key${n} <= position && key${n} < K) { `}probs[out_base + key${n}] = ${qDotWgsl(headDim, (c) => `k${n}_${c}`, (c) => `x${c}`)} * params.scale;${n === 0 ? "" : " }"}`).join("\n")}
    }
  }
}
`;
}

/**
 * Keys whose logits one invocation computes (the grid is ⌈K / (64 · this)⌉ workgroups wide). A CPU adapter
 * gains from more: each staged quad of q then serves more keys, and its registers are memory anyway (on
 * SwiftShader at 8k, 1 key: 46 ms for the whole estimate; 2: 34; 4: 27; 8: 23). A GPU keeps one: eight
 * rows of K would be 512 registers a thread, and a short sequence would leave most of it idle.
 */
export function logitKeysPerInvocation(adapter: { readonly software: boolean }): number {
  return adapter.software ? 8 : 1;
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
  // One read for the maximum and the sum: each invocation keeps its own running pair (rescaled when its
  // maximum grows), then the workgroup combines them. A read costs more than the extra exp (12 → 8 ms at 8k).
  var own_max = -3.0e38;
  var own_sum = 0.0;
  for (var key = i32(local); key <= position; key += ${estimatorWorkgroup}) {
    let x = probs[row_base + key];
    let grown = max(own_max, x);
    own_sum = own_sum * exp(own_max - grown) + exp(x - grown);
    own_max = grown;
  }
  let m = reduce(local, own_max, true);
  let total = reduce(local, own_sum * exp(own_max - m), false);
  for (var key = i32(local); key < K; key += ${estimatorWorkgroup}) {
    probs[row_base + key] = select(0.0, exp(probs[row_base + key] - m) / total, key <= position);
  }
}
`;
}

/**
 * Column sums and diagonal sums of the probabilities, as order keys, in one pass: invocation `at` sums
 * column `at` and diagonal `at` (p[row][position − at]) over the rows, four rows a step (a software adapter
 * pays for each loop step and bounds-checked load, so the two sums share them).
 */
export function verticalSlashScoresWgsl(dtype: Dtype): string {
  return `// Stipple estimator: vertical-slash, column and diagonal scores (generated, do not edit).
${header(dtype)}${orderKeyWgsl}
@group(0) @binding(5) var<storage, read_write> column_keys: array<u32>;
@group(0) @binding(6) var<storage, read_write> diagonal_keys: array<u32>;

// Row r's probability at key, 0 for keys below 0 (diagonals reach past the first key on the early rows).
fn p_at(slice: i32, r: i32, key: i32) -> f32 {
  return select(0.0, probs[(slice * params.rows + r) * params.k_len + max(key, 0)], key >= 0);
}

@compute @workgroup_size(${estimatorWorkgroup})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let K = params.k_len;
  let slice = i32(id.z);
  let head = params.head0 + slice;
  let at = i32(id.x);
  if (at >= K) { return; }
  // Row r's position is first + r; its key on diagonal at is first + r - at.
  let first = K - params.rows;
  var column = 0.0;
  var diagonal = 0.0;
  var r = 0;
  for (; r + 4 <= params.rows; r += 4) {
    let c = (slice * params.rows + r) * K + at;
    column += (probs[c] + probs[c + K]) + (probs[c + 2 * K] + probs[c + 3 * K]);
    let key = first + r - at;
    diagonal += (p_at(slice, r, key) + p_at(slice, r + 1, key + 1)) + (p_at(slice, r + 2, key + 2) + p_at(slice, r + 3, key + 3));
  }
  for (; r < params.rows; r++) {
    column += probs[(slice * params.rows + r) * K + at];
    diagonal += p_at(slice, r, first + r - at);
  }
  column_keys[head * K + at] = select(order_key(column), POS_INF_KEY, at < params.first_columns);
  diagonal_keys[head * K + at] = select(order_key(diagonal), POS_INF_KEY, at < params.near_diagonals);
}
`;
}
