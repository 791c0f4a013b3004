import type { Dtype } from "../../../ir/kernel/kernel.js";
import { tensorBindings } from "../emit.js";
import { estimatorWorkgroup } from "./vertical-slash.js";
import { orderKeyWgsl } from "./select-top.js";

/**
 * The block estimator on the device (reference: ir/estimate/block-top-k.ts), two kernels before the shared
 * top-n selection (one problem per head and query block):
 * 1. pooling: one invocation per (block, d) and head means q over query blocks and k over key blocks into
 *    a scratch buffer: q̄ [H][rowBlocks][D], then k̄ [KVH][colBlocks][D];
 * 2. scores: one invocation per (query block, key block) and head: the pooled dot product; key blocks past
 *    the query block's last position are −∞, those holding a row's diagonal +∞.
 */
const header = (dtype: Dtype): string => `${tensorBindings(dtype)}
struct Estimate { q_len: i32, k_len: i32, heads: i32, kv_heads: i32, block: i32, head_dim: i32, row_blocks: i32, col_blocks: i32 }
@group(0) @binding(3) var<uniform> params: Estimate;
@group(0) @binding(4) var<storage, read_write> pooled: array<f32>;
`;

export function blockPoolWgsl(dtype: Dtype): string {
  return `// Stipple estimator: block top-k, mean pooling of q and k (generated, do not edit).
${header(dtype)}
@compute @workgroup_size(${estimatorWorkgroup})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let D = params.head_dim;
  let head = i32(id.z);
  let b = i32(id.x) / D;
  let d = i32(id.x) % D;
  // Query blocks of head z (z < heads), then key blocks of KV head z (z < kv_heads).
  if (b < params.row_blocks && head < params.heads) {
    let end = min(params.q_len, (b + 1) * params.block);
    var sum = 0.0;
    for (var row = b * params.block; row < end; row++) { sum += q_at((head * params.q_len + row) * D + d); }
    pooled[(head * params.row_blocks + b) * D + d] = sum / f32(end - b * params.block);
  }
  if (b < params.col_blocks && head < params.kv_heads) {
    let end = min(params.k_len, (b + 1) * params.block);
    var sum = 0.0;
    for (var key = b * params.block; key < end; key++) { sum += k_at((head * params.k_len + key) * D + d); }
    pooled[(params.heads * params.row_blocks + head * params.col_blocks + b) * D + d] = sum / f32(end - b * params.block);
  }
}
`;
}

export function blockScoresWgsl(dtype: Dtype): string {
  return `// Stipple estimator: block top-k, pooled scores (generated, do not edit).
${header(dtype)}${orderKeyWgsl}
@group(0) @binding(5) var<storage, read_write> keys: array<u32>;

@compute @workgroup_size(${estimatorWorkgroup})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let D = params.head_dim;
  let head = i32(id.z);
  let kv_head = head * params.kv_heads / params.heads;
  if (i32(id.x) >= params.row_blocks * params.col_blocks) { return; }
  let b = i32(id.x) / params.col_blocks;
  let c = i32(id.x) % params.col_blocks;
  let first = params.k_len - params.q_len + b * params.block;
  let last = params.k_len - params.q_len + min(params.q_len, (b + 1) * params.block) - 1;
  var key = NEG_INF_KEY;
  if (c * params.block <= last) {
    var dot = 0.0;
    let q_base = (head * params.row_blocks + b) * D;
    let k_base = (params.heads * params.row_blocks + kv_head * params.col_blocks + c) * D;
    for (var d = 0; d < D; d++) { dot += pooled[q_base + d] * pooled[k_base + d]; }
    key = select(order_key(dot), POS_INF_KEY, (c + 1) * params.block - 1 >= first);
  }
  keys[(head * params.row_blocks + b) * params.col_blocks + c] = key;
}
`;
}
