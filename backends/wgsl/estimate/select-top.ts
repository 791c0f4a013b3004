/**
 * Device top-n selection, shared by every estimator: per problem (one workgroup: a head, or a head's query
 * block), the `n` largest of `count` score keys become set bits of a runtime input in the packed inputs
 * buffer (passes/device-inputs.ts). Same rule as the reference (ir/estimate/top-n.ts): ties go to the lower
 * index; keys of −∞ are never chosen, so n is clamped to the entries above it.
 *
 * Scores arrive as order keys (f32 mapped to u32 so that unsigned order is float order). The n-th largest key
 * is found bit by bit (32 counting rounds, each a workgroup sum); then keys above it are set, and keys equal to
 * it are set in index order until n: each invocation owns a contiguous chunk, and an exclusive prefix over
 * the chunks' equal counts gives each its quota. Bits go in with atomicOr, since block rows share words.
 *
 * Short problems (a block row: tens of key blocks) skip the 33 counting rounds, whose barriers cost far more
 * than the work on a CPU adapter: each invocation ranks its own keys against all others (ties by index) and
 * keeps those ranked below n. The same selection, without a barrier.
 */
export const selectWorkgroup = 256;
/** Up to this many scores per problem, selection by rank (count² / workgroup comparisons per invocation). */
export const rankSelectionLimit = 2048;

/** order_key and a workgroup sum: the WGSL the estimators share. */
export const orderKeyWgsl = `
// f32 → u32 with the same order (−0 as +0). The keys of −∞ (never chosen) and +∞ (forced entries) are
// constants: WGSL has no infinite f32 constant.
const NEG_INF_KEY: u32 = 0x007fffffu;
const POS_INF_KEY: u32 = 0xff800000u;
fn order_key(x: f32) -> u32 {
  let bits = bitcast<u32>(select(x, 0.0, x == 0.0));
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}
`;

/** `limits`: each problem keeps at most its own count too, read from a buffer an earlier kernel wrote (XAttention). */
export function selectTopWgsl(limits = false): string {
  const wanted = limits ? "min(selection.n_max, limits[head * selection.problems + problem])" : "selection.n_max";
  return `// Stipple estimator: top-n selection into a runtime input${limits ? ", sizes per problem" : ""} (generated, do not edit).
${orderKeyWgsl}
struct Selection {
  count: u32,     // scores per problem
  n_max: u32,     // entries to keep per problem
  slot: u32,      // the input's place in the packed inputs' directory
  problems: u32,  // problems per head (bit offset = problem * count in the head's leaf)
}
@group(0) @binding(0) var<storage, read> keys: array<u32>;
@group(0) @binding(1) var<uniform> selection: Selection;
@group(0) @binding(2) var<storage, read_write> aux: array<atomic<u32>>;
${limits ? "@group(0) @binding(3) var<storage, read> limits: array<u32>;\n" : ""}
var<workgroup> partial: array<u32, ${selectWorkgroup}>;

fn workgroup_sum(local: u32, value: u32) -> u32 {
  workgroupBarrier();
  partial[local] = value;
  for (var stride = ${selectWorkgroup / 2}u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (local < stride) { partial[local] += partial[local + stride]; }
  }
  return workgroupUniformLoad(&partial[0]);
}

// Keys of this problem at or above threshold (strictly above when above is true), over the workgroup.
fn count_keys(base: u32, local: u32, threshold: u32, above: bool) -> u32 {
  var mine = 0u;
  for (var at = local; at < selection.count; at += ${selectWorkgroup}u) {
    let key = keys[base + at];
    mine += select(0u, 1u, select(key >= threshold, key > threshold, above));
  }
  return workgroup_sum(local, mine);
}

@compute @workgroup_size(${selectWorkgroup})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32) {
  let problem = group.x;
  let head = group.z;
  let base = (head * selection.problems + problem) * selection.count;
  let leaf_base = atomicLoad(&aux[4u * selection.slot]) + atomicLoad(&aux[4u * selection.slot + 1u]) * head;
  if (selection.count <= ${rankSelectionLimit}u) {
    let wanted = ${wanted};
    for (var at = local; at < selection.count; at += ${selectWorkgroup}u) {
      let key = keys[base + at];
      if (key == NEG_INF_KEY) { continue; }
      var rank = 0u;
      for (var other = 0u; other < selection.count && rank < wanted; other++) {
        let rival = keys[base + other];
        rank += select(0u, 1u, rival > key || (rival == key && other < at));
      }
      if (rank < wanted) {
        let bit = problem * selection.count + at;
        atomicOr(&aux[leaf_base + bit / 32u], 1u << (bit % 32u));
      }
    }
    return;
  }
  let n = min(${wanted}, count_keys(base, local, NEG_INF_KEY, true));
  if (n == 0u) { return; }
  var threshold = 0u;
  for (var bit = 31i; bit >= 0i; bit--) {
    let candidate = threshold | (1u << u32(bit));
    if (count_keys(base, local, candidate, false) >= n) { threshold = candidate; }
  }
  let ties_wanted = n - count_keys(base, local, threshold, true);
  // Each invocation's contiguous chunk, its equal keys, and the ties before it.
  let chunk = (selection.count + ${selectWorkgroup - 1}u) / ${selectWorkgroup}u;
  let first = min(selection.count, local * chunk);
  let end = min(selection.count, first + chunk);
  var ties = 0u;
  for (var at = first; at < end; at++) { ties += select(0u, 1u, keys[base + at] == threshold); }
  workgroupBarrier();
  partial[local] = ties;
  workgroupBarrier();
  if (local == 0u) {
    var before = 0u;
    for (var t = 0u; t < ${selectWorkgroup}u; t++) {
      let own = partial[t];
      partial[t] = before;
      before += own;
    }
  }
  workgroupBarrier();
  var quota = select(0u, ties_wanted - partial[local], ties_wanted > partial[local]);
  for (var at = first; at < end; at++) {
    let key = keys[base + at];
    var keep = key > threshold;
    if (key == threshold && quota > 0u) {
      keep = true;
      quota -= 1u;
    }
    if (keep) {
      let bit = problem * selection.count + at;
      atomicOr(&aux[leaf_base + bit / 32u], 1u << (bit % 32u));
    }
  }
}
`;
}

/** Clears one input's leaves (all heads) before a selection sets bits in them. */
export function clearInputWgsl(): string {
  return `// Stipple estimator: clears a runtime input's words (generated, do not edit).
struct Clear { slot: u32, leaves: u32 }
@group(0) @binding(1) var<uniform> clear: Clear;
@group(0) @binding(2) var<storage, read_write> aux: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let words = aux[4u * clear.slot + 1u] * clear.leaves;
  if (id.x < words) { aux[aux[4u * clear.slot] + id.x] = 0u; }
}
`;
}
