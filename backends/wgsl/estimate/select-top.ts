/**
 * Device top-n selection, shared by every estimator: per problem (one workgroup: a head, or a head's query
 * block), the `n` largest of `count` score keys become set bits of a runtime input in the packed inputs
 * buffer (passes/device-inputs.ts). Same rule as the reference (ir/estimate/top-n.ts): ties go to the lower
 * index; keys of −∞ are never chosen, so n is clamped to the entries above it.
 *
 * Scores arrive as order keys (f32 mapped to u32 so that unsigned order is float order). The n-th largest key
 * is found a byte at a time from the top (4 rounds: a workgroup histogram of the next byte over the keys that
 * share the bytes found so far, then the byte where the count from the top reaches the keys still wanted);
 * then keys above it are set, and keys equal to it are set in index order until n: each invocation owns a
 * contiguous chunk, and an exclusive prefix over the chunks' equal counts gives each its quota. Bits go in
 * with atomicOr, since block rows share words. The rounds used to go bit by bit, 33 workgroup sums: about
 * 300 barriers, which on a CPU adapter cost far more than the counting (7.5 ms of each 8k selection).
 *
 * Short problems (a block row: tens of key blocks) skip the rounds too: each invocation ranks its own keys
 * against all others (ties by index) and keeps those ranked below n. The same selection, without a barrier.
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
// Counts of the keys' next byte, a bin per value.
var<workgroup> histogram: array<atomic<u32>, 256>;
// A round's byte, and how many keys with it are still wanted (invocation 0 writes them).
var<workgroup> found: array<u32, 2>;

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
  // The n-th largest key above −∞, a byte a round; wanted_left: how many keys that share the bytes found
  // so far are still wanted (in round 0, clamped to the keys above −∞: they are all in its histogram).
  var prefix = 0u;
  var prefix_mask = 0u;
  var wanted_left = ${wanted};
  for (var round = 0u; round < 4u; round++) {
    let shift = 24u - 8u * round;
    for (var b = local; b < 256u; b += ${selectWorkgroup}u) { atomicStore(&histogram[b], 0u); }
    workgroupBarrier();
    for (var at = local; at < selection.count; at += ${selectWorkgroup}u) {
      let key = keys[base + at];
      if (key > NEG_INF_KEY && (key & prefix_mask) == prefix) { atomicAdd(&histogram[(key >> shift) & 255u], 1u); }
    }
    workgroupBarrier();
    if (local == 0u) {
      var left = wanted_left;
      if (round == 0u) {
        var total = 0u;
        for (var b = 0u; b < 256u; b++) { total += atomicLoad(&histogram[b]); }
        left = min(left, total);
      }
      var above = 0u;
      var digit = 0u;
      for (var b = 255i; b >= 0i; b--) {
        let count = atomicLoad(&histogram[u32(b)]);
        if (above + count >= left) {
          digit = u32(b);
          break;
        }
        above += count;
      }
      found[0] = digit;
      found[1] = left - above;
    }
    let digit = workgroupUniformLoad(&found[0]);
    wanted_left = workgroupUniformLoad(&found[1]);
    if (wanted_left == 0u) { return; }
    prefix |= digit << shift;
    prefix_mask |= 255u << shift;
  }
  let threshold = prefix;
  let ties_wanted = wanted_left;
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
