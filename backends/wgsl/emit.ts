import type { AttentionKernel, Dtype } from "../../ir/kernel/kernel.js";
import { assertNever } from "../../util/hash.js";
import { floatLiteral, wgsl } from "../c-like/dialect.js";
import { printMask } from "../c-like/predicate.js";
import { closedFormLoops, latticeOf, naturalRegions, rowMapping, usesRuns, type VisitCall } from "../c-like/segments.js";
import { foldTileWgsl } from "./fold.js";
import { gatherDeclarationsWgsl, gatherFunctionsWgsl, gatherLoopsWgsl, gatherStorageBytes } from "./gathers.js";
import { inputAccessorsWgsl, tileIndexLoopWgsl } from "./inputs.js";
import { latticeVisitHeaderWgsl, latticeWgsl, runsWgsl, visitHeaderWgsl } from "./lattice.js";
import { quadsOf, rowStateWgsl, setAccumulatorWgsl } from "./quads.js";
import { checkWgslKernel } from "./schedule.js";
import { classifierWgsl, lengthLetsWgsl } from "./tile-builder.js";

/**
 * Prints a kernel IR attention kernel as WGSL (flash-attention style). One workgroup per query tile and
 * head, one invocation per query row: the row's q and output accumulator stay in registers (vec4 quads of
 * the head dim, quads.ts), K and V tiles are staged through workgroup memory, softmax is online (running
 * max and sum), one pass over the keys. Only planned key tiles are visited; full tiles skip the mask.
 * Deterministic: same kernel, same text.
 *
 * Bindings: 0 q [H, Q, D], 1 k [KVH, K, D], 2 v [KVH, K, D] (f32), 3 out [H, Q, D] (f32),
 * 4 lse [H, Q] (f32 bits as u32, so −∞ needs no float constant), 5 the heads this kernel serves,
 * 6 the launch's lengths (uniform): the same kernel serves every shape; for dynamic patterns 7 the packed
 * runtime inputs (backends/wgsl/inputs.ts), 8 the tile index (backends/wgsl/tile-builder.ts).
 * Split-K: workgroup (x, y, z) serves query tile x, split y: the visits v with v mod splits = y.
 */
export function emitWgsl(kernel: AttentionKernel): string {
  const { blockM, blockN, headDim: D } = kernel;
  const lattice = latticeOf(kernel);
  const rows = rowMapping(kernel, "i32(group.x)", wgsl);
  const columns = kernel.gathers?.columns;
  checkWgslKernel(kernel);
  return `// Stipple attention kernel ${kernel.name}: generated, do not edit.
// ${kernel.dtype} q/k/v, f32 math, head dim ${D}, ${blockM} query rows × ${blockN} keys per tile.
const BM: i32 = ${blockM};
const BN: i32 = ${blockN};
const D: i32 = ${D};
const QUADS: i32 = ${D / 4};
const SCALE: f32 = ${floatLiteral(kernel.scale)};

${tensorBindings(kernel.dtype)}@group(0) @binding(3) var<storage, read_write> out: array<f32>;
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
${usesAux(kernel) ? inputAccessorsWgsl : ""}

// K and V tiles: key j's quad c at j * QUADS + c.
var<workgroup> k_tile: array<vec4<f32>, ${(blockN * D) / 4}>;
var<workgroup> v_tile: array<vec4<f32>, ${(blockN * D) / 4}>;
${kernel.segments.kind === "tileIndex" ? "@group(0) @binding(8) var<storage, read> tile_index: array<u32>;\n" : ""}${kernel.gathers === undefined ? "" : gatherDeclarationsWgsl(kernel)}

${rowStateWgsl(D)}var<private> row_max: f32;
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

${usesRuns(kernel) ? runsWgsl : ""}${lattice === undefined ? "" : latticeWgsl(lattice, naturalRegions(kernel).length)}${columns === undefined ? "" : classifierWgsl(kernel.mask, kernel.inputs)}
fn keeps(q: i32, k: i32, i: i32, head: i32, kv_head: i32) -> bool {
  ${sizeLets(kernel)}return ${printMask(kernel.mask, kernel.inputs, wgsl)};
}

${lattice === undefined ? visitHeaderWgsl : latticeVisitHeaderWgsl}
${lattice === undefined ? foldTileWgsl("let keep = keeps(q, k0 + j, row, head, kv_head);", blockN, D, "full") : foldTileWgsl("let key = tile_key(t, j, on_lattice, o);\n      let keep = key >= 0 && key < K_LEN && (full || (keeps(q, key, row, head, kv_head) && !(on_lattice && covered(key))));", blockN, D)}
${gatherFunctionsWgsl(kernel)}
@compute @workgroup_size(${blockM})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local_index: u32) {
${lengthLetsWgsl}
  let pack = lengths.pack;
  // The pack heads of workgroup z share one KV head (the runtime packs only such heads).
  let kv_head = i32(head_list[group.z * u32(pack)]) * KV_HEADS / HEADS;
  let local = i32(local_index);
  let split = i32(group.y);
  let splits = lengths.splits;
${rows.code}
  let slot = ${rows.rowOf("local")};
  let row = select(Q_LEN, slot % Q_LEN, slot >= 0 && slot < pack * Q_LEN);
  let head = i32(head_list[group.z * u32(pack) + u32(clamp(slot / Q_LEN, 0, pack - 1))]);
  row_max = 0.0;
  row_sum = 0.0;
  row_kept = false;
  let q_base = (head * Q_LEN + min(row, Q_LEN - 1)) * D;
${setAccumulatorWgsl(D, () => "vec4<f32>(0.0)", "  ")}
${quadsOf(D).map((c) => `  q${c} = select(vec4<f32>(0.0), q_quad(q_base + ${4 * c}), row < Q_LEN);`).join("\n")}
${segmentLoop(kernel)}
  if (row < Q_LEN) {
    let at = (split * HEADS + head) * Q_LEN + row;
${quadsOf(D).map((c) => `    let o${c} = select(vec4<f32>(0.0), a${c} / row_sum, row_kept);\n    out[at * D + ${4 * c}] = o${c}.x; out[at * D + ${4 * c + 1}] = o${c}.y; out[at * D + ${4 * c + 2}] = o${c}.z; out[at * D + ${4 * c + 3}] = o${c}.w;`).join("\n")}
    lse[at] = select(0xff800000u, bitcast<u32>(row_max + log(row_sum)), row_kept);
  }
}
`;
}

/**
 * Workgroup memory the printed kernel declares (bytes): the K and V tiles, and the gather paths' words
 * (gathers.ts). Kept beside emitWgsl so the two change together; the
 * runtime refuses a kernel above the device's limit (checkDeviceLimits) rather than let the pipeline fail.
 */
export function workgroupStorageBytes(kernel: AttentionKernel): number {
  const tiles = 2 * kernel.blockN * kernel.headDim * 4;
  return tiles + gatherStorageBytes(kernel);
}

/** The loop over key tiles: from the closed form (each tile once across regions), or over all of them. */
function segmentLoop(kernel: AttentionKernel): string {
  const { segments } = kernel;
  const lattice = latticeOf(kernel);
  switch (segments.kind) {
    case "allTiles":
      return `  for (var t = split; t <= (K_LEN - 1) / BN; t += splits) { visit(t, false, local, row, head, kv_head); }`;
    case "tileIndex": {
      return kernel.gathers === undefined ? tileIndexLoopWgsl : `${tileIndexLoopWgsl}\n${gatherLoopsWgsl(kernel)}`;
    }
    case "closedForm": {
      const visit: VisitCall = (t, full, onLattice) =>
        `if (floor_mod(v, splits) == split) { visit(${t}, ${full}, ${lattice === undefined ? "" : onLattice === undefined ? "false, 0, " : `${onLattice.when}, ${onLattice.offset}, `}local, row, head, kv_head); }`;
      return closedFormLoops(kernel, wgsl, visit);
    }
    default:
      return assertNever(segments, "segment source");
  }
}

/**
 * q, k, v and their accessors, f32 words or f16 halves two to a word (read as f32): `_at(i)` element i,
 * `_quad(i)` elements i .. i + 3 (i a multiple of 4, so f16 quads are two whole words).
 */
export function tensorBindings(dtype: Dtype): string {
  const names = ["q", "k", "v"];
  if (dtype === "f32") {
    return names.map((name, binding) => `@group(0) @binding(${binding}) var<storage, read> ${name}_in: array<f32>;\nfn ${name}_at(i: i32) -> f32 { return ${name}_in[i]; }\n`
      + `fn ${name}_quad(i: i32) -> vec4<f32> { return vec4<f32>(${name}_in[i], ${name}_in[i + 1], ${name}_in[i + 2], ${name}_in[i + 3]); }\n`).join("");
  }
  return `// f16 tensors, two halves to a word (element 2w in the low half), unpacked to f32: core WGSL, no shader-f16.\n`
    + names.map((name, binding) => `@group(0) @binding(${binding}) var<storage, read> ${name}_in: array<u32>;\nfn ${name}_at(i: i32) -> f32 { return unpack2x16float(${name}_in[i / 2])[i % 2]; }\n`
      + `fn ${name}_quad(i: i32) -> vec4<f32> { return vec4<f32>(unpack2x16float(${name}_in[i / 2]), unpack2x16float(${name}_in[i / 2 + 1])); }\n`).join("");
}

/** Kernels that read runtime inputs bind their packed words. */
export function usesAux(kernel: AttentionKernel): boolean {
  return kernel.inputs.length > 0;
}

/** The sizes the mask mentions, bound from the uniform lengths (only those used, to keep the text small). */
function sizeLets(kernel: AttentionKernel): string {
  const text = printMask(kernel.mask, kernel.inputs, wgsl);
  const lets = [["Q_LEN", "lengths.q_len"], ["K_LEN", "lengths.k_len"], ["HEADS", "lengths.heads"], ["KV_HEADS", "lengths.kv_heads"], ["LAYERS", "lengths.layers"], ["LAYER", "lengths.layer"]]
    .filter(([name]) => new RegExp(`\\b${name ?? ""}\\b`).test(text))
    .map(([name, field]) => `let ${name ?? ""} = ${field ?? ""};\n  `);
  return lets.join("");
}
