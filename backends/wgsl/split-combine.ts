/** Invocations per combine workgroup (one per query row). */
export const combineWorkgroupSize = 64;

/**
 * Split-K (flash-decoding): when a launch has too few query tiles to fill the device (decode: Q of 1 to 16
 * rows), its key tiles are dealt out to `splits` workgroups per query tile. Each writes its rows' output
 * normalised by its own sum and its log-sum-exp; this kernel merges them, per head and row:
 * lse = log Σ exp(lse_s), out = Σ exp(lse_s − lse) · out_s. Splits that kept nothing (lse −∞) weigh 0; a row
 * no split kept gives 0 and −∞, as unsplit kernels do.
 *
 * Bindings: 0 partial outputs [splits, H, Q, D], 1 partial lse [splits, H, Q] (f32 bits), 3 out, 4 lse,
 * 5 the launch's heads, 6 the lengths (splits included).
 */
export function emitSplitCombineWgsl(headDim: number): string {
  return `// Stipple split-K combine, head dim ${headDim}: generated, do not edit.
const D: i32 = ${headDim};
const NO_KEY: u32 = 0xff800000u;
@group(0) @binding(0) var<storage, read> part_out: array<f32>;
@group(0) @binding(1) var<storage, read> part_lse: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<u32>;
@group(0) @binding(5) var<storage, read> head_list: array<u32>;
struct Lengths { q_len: i32, k_len: i32, heads: i32, kv_heads: i32, layers: i32, layer: i32, splits: i32, pack: i32 }
@group(0) @binding(6) var<uniform> lengths: Lengths;

@compute @workgroup_size(${combineWorkgroupSize})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let Q_LEN = lengths.q_len;
  let HEADS = lengths.heads;
  let row = i32(id.x);
  let head = i32(head_list[id.z]);
  if (row >= Q_LEN) { return; }
  let at = head * Q_LEN + row;
  var best = 0.0;
  var any = false;
  for (var s = 0; s < lengths.splits; s++) {
    let bits = part_lse[s * HEADS * Q_LEN + at];
    if (bits != NO_KEY) {
      best = select(bitcast<f32>(bits), max(best, bitcast<f32>(bits)), any);
      any = true;
    }
  }
  if (!any) {
    for (var d = 0; d < D; d++) { out[at * D + d] = 0.0; }
    lse[at] = NO_KEY;
    return;
  }
  var total = 0.0;
  for (var s = 0; s < lengths.splits; s++) {
    let bits = part_lse[s * HEADS * Q_LEN + at];
    if (bits != NO_KEY) { total += exp(bitcast<f32>(bits) - best); }
  }
  for (var d = 0; d < D; d++) {
    var sum = 0.0;
    for (var s = 0; s < lengths.splits; s++) {
      let bits = part_lse[s * HEADS * Q_LEN + at];
      if (bits != NO_KEY) { sum += exp(bitcast<f32>(bits) - best) * part_out[(s * HEADS * Q_LEN + at) * D + d]; }
    }
    out[at * D + d] = sum / total;
  }
  lse[at] = bitcast<u32>(best + log(total));
}
`;
}
