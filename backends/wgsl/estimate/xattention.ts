import type { Dtype } from "../../../ir/kernel/kernel.js";
import { tensorBindings } from "../emit.js";
import { orderKeyWgsl } from "./select-top.js";
import { estimatorWorkgroup, workgroupReduceWgsl } from "./vertical-slash.js";

/**
 * XAttention on the device (reference: ir/estimate/xattention.ts), one kernel before the shared top-n
 * selection. One workgroup per head and query block:
 * 1. the block's cell rows (stride query rows each) go CELL_ROWS at a time: every invocation scores its cells
 *    for all of them at once, each K row it reads serving every cell row (the q rows are read straight from
 *    memory: every lane reads the same element, a broadcast), keeping a running max and sum per cell row and
 *    writing the scores to a scratch of the current cell rows; the workgroup combines the running pairs, then
 *    each invocation reads the scores of its own key blocks' cells and adds their probabilities to the
 *    blocks' masses (no two invocations write one mass). The scratch holds CELL_ROWS rows of cells per
 *    problem, for a chunk of query blocks (all heads) per dispatch (../../estimated-input.ts), so it stays
 *    within xattentionScratchBytes at any length. Each cell is scored once: the version before scored it
 *    twice (once for the stats, once for the masses) to keep no scratch at all, and the one before that
 *    scored each cell row alone, reading K once per cell row, into a scratch of Q · K / S floats;
 * 2. the block's selection size: the forced blocks (first, diagonal) plus the fewest candidates, heaviest
 *    first, whose mass reaches the need (threshold × total − forced mass). The heaviest-first cut is found
 *    bit by bit over the candidates' order keys, as the top-n selection finds its threshold: the largest
 *    key T whose candidates at or above it carry the need; then all above T and enough ties at T.
 * The masses leave as order keys (forced +∞, non-causal −∞) and the sizes as per-problem limits, so the
 * shared selection (ties to the lower index) sets exactly the blocks the count chose.
 */
export function xattentionMassWgsl(dtype: Dtype, headDim: number, stride: number): string {
  const rows = Array.from({ length: xattentionCellRows }, (_, i) => i);
  const cellRows = xattentionCellRows;
  return `// Stipple estimator: XAttention anti-diagonal block masses and selection sizes (generated, do not edit).
${tensorBindings(dtype)}${orderKeyWgsl}
// b0, chunk_blocks: this dispatch's query blocks are b0 .. b0 + chunk_blocks - 1 (workgroup x = b - b0), so
// that the scores scratch holds one chunk of problems at a time.
struct Estimate { q_len: i32, k_len: i32, heads: i32, kv_heads: i32, block: i32, row_blocks: i32, col_blocks: i32, b0: i32, chunk_blocks: i32, threshold: f32, scale: f32 }
@group(0) @binding(3) var<uniform> params: Estimate;
@group(0) @binding(5) var<storage, read_write> masses: array<f32>;
@group(0) @binding(6) var<storage, read_write> keys: array<u32>;
@group(0) @binding(7) var<storage, read_write> limits: array<u32>;
// The current cell rows' scores, [head][workgroup x][cell row][cell]: written once, read by the masses.
@group(0) @binding(8) var<storage, read_write> scores_of: array<f32>;

const S: i32 = ${stride};
const D: i32 = ${headDim};
const WG: i32 = ${estimatorWorkgroup};
// Below every score: marks cells with no causal pair (excluded from the softmax).
const NO_SCORE: f32 = -3.0e38;
// Cell rows scored together.
const CELL_ROWS: i32 = ${cellRows};
// Each invocation's running (max, sum) of one cell row, for invocation 0 to combine.
var<workgroup> row_partial: array<vec2<f32>, WG>;
// Each cell row's (max, sum) over the workgroup.
var<workgroup> row_stats: array<vec2<f32>, CELL_ROWS>;
${workgroupReduceWgsl}
fn from_order_key(key: u32) -> f32 {
  return bitcast<f32>(select(~key, key & 0x7fffffffu, (key & 0x80000000u) != 0u));
}

// Invocation 0: the workgroup's running (max, sum) pairs in row_partial combined into one.
fn combined_row() -> vec2<f32> {
  var m = NO_SCORE;
  for (var j = 0; j < WG; j++) { m = max(m, row_partial[j].x); }
  var total = 0.0;
  for (var j = 0; j < WG; j++) { total += row_partial[j].y * exp(row_partial[j].x - m); }
  return vec2<f32>(m, total);
}

// Cell c's anti-diagonal scores for cell rows a0 .. a0 + CELL_ROWS - 1 (NO_SCORE for a cell row past
// end_cell or with no causal pair in the cell): row aS + S - 1 - s against key cS + s, summed over s.
fn cell_scores(head: i32, kv_head: i32, a0: i32, end_cell: i32, c: i32) -> array<f32, CELL_ROWS> {
  let Q = params.q_len;
  let K = params.k_len;
${rows.map((i) => `  var dot${i} = 0.0;\n  var terms${i} = 0;`).join("\n")}
  for (var s = 0; s < S; s++) {
    let key = c * S + s;
    if (key >= K) { break; }
    let k_base = (kv_head * K + key) * D;
${rows.map((i) => `    let row${i} = (a0 + ${i}) * S + S - 1 - s;\n    let q_base${i} = (head * Q + clamp(row${i}, 0, Q - 1)) * D;\n    var part${i} = 0.0;`).join("\n")}
    for (var d = 0; d < D; d += 4) {
      let kd = k_quad(k_base + d);
${rows.map((i) => `      part${i} += dot(q_quad(q_base${i} + d), kd);`).join("\n")}
    }
${rows.map((i) => `    let pair${i} = a0 + ${i} < end_cell && row${i} < Q && key <= K - Q + row${i};\n    dot${i} += select(0.0, part${i}, pair${i});\n    terms${i} += select(0, 1, pair${i});`).join("\n")}
  }
  return array<f32, CELL_ROWS>(${rows.map((i) => `select(NO_SCORE, dot${i} * params.scale / f32(S), terms${i} > 0)`).join(", ")});
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
  let b = params.b0 + i32(group.x);
  let problem = head * params.row_blocks + b;
  let cell_cols = (K + S - 1) / S;
  let scores_base = (head * params.chunk_blocks + i32(group.x)) * CELL_ROWS * cell_cols;
  let cells_per_block = params.block / S;
  let base = problem * params.col_blocks;
  for (var c = i32(local); c < params.col_blocks; c += WG) { masses[base + c] = 0.0; }
  let first_cell = b * cells_per_block;
  let end_cell = min((Q + S - 1) / S, first_cell + cells_per_block);
  for (var a0 = first_cell; a0 < end_cell; a0 += CELL_ROWS) {
    // The cells each cell row scores: none past its last row's position.
${rows.map((i) => `    let cells${i} = select(0, min(cell_cols, (K - Q + min(Q - 1, (a0 + ${i}) * S + S - 1)) / S + 1), a0 + ${i} < end_cell);`).join("\n")}
    let chunk_cells = max(${rows.map((i) => `cells${i}`).reduce((a, b) => `max(${a}, ${b})`)}, 0);
${rows.map((i) => `    var run_max${i} = NO_SCORE;\n    var run_sum${i} = 0.0;`).join("\n")}
    // The previous cell rows' scores have been read.
    storageBarrier();
    for (var c = i32(local); c < chunk_cells; c += WG) {
      let scores = cell_scores(head, kv_head, a0, end_cell, c);
${rows.map((i) => `      scores_of[scores_base + ${i} * cell_cols + c] = select(NO_SCORE, scores[${i}], c < cells${i});`).join("\n")}
${rows.map((i) => `      if (c < cells${i} && scores[${i}] != NO_SCORE) {
        let grown = max(run_max${i}, scores[${i}]);
        run_sum${i} = run_sum${i} * exp(run_max${i} - grown) + exp(scores[${i}] - grown);
        run_max${i} = grown;
      }`).join("\n")}
    }
    // Each cell row's max and sum over the workgroup, invocation 0 combining the running pairs.
${rows.map((i) => `    workgroupBarrier();
    row_partial[local] = vec2<f32>(run_max${i}, run_sum${i});
    workgroupBarrier();
    if (local == 0u) { row_stats[${i}] = combined_row(); }`).join("\n")}
    workgroupBarrier();
    // Every invocation's scores are written.
    storageBarrier();
    let stats = row_stats;
    for (var kb = i32(local); kb * cells_per_block < chunk_cells; kb += WG) {
      var mass = 0.0;
      for (var c = kb * cells_per_block; c < min(chunk_cells, (kb + 1) * cells_per_block); c++) {
${rows.map((i) => `        let score${i} = scores_of[scores_base + ${i} * cell_cols + c];
        if (score${i} != NO_SCORE) { mass += exp(score${i} - stats[${i}].x) / stats[${i}].y; }`).join("\n")}
      }
      masses[base + kb] += mass;
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

/** The most bytes the mass kernel's scores scratch takes (WebGPU: capped by the device's largest buffer). */
export const xattentionScratchBytes = 64 * 2 ** 20;

/**
 * Cell rows the mass kernel scores together: each K row it reads serves this many, at the price of this
 * many accumulators a lane and of this many rows of ⌈K / S⌉ scores a query block in the scratch.
 */
export const xattentionCellRows = 8;
