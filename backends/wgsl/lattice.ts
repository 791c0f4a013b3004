import type { KernelLattice } from "../c-like/segments.js";
import { stageTileWgsl } from "./quads.js";

/** WGSL definitions of the run numbering (see backends/c-like/segments.ts). */
export const runsWgsl = `// The j-th member of the run (x - o) mod m < w, counting from o - m.
fn run_at(j: i32, o: i32, m: i32, w: i32) -> i32 {
  return o - m + m * (j / w) + j % w;
}

// The index of the run's first member >= x.
fn run_index(x: i32, o: i32, m: i32, w: i32) -> i32 {
  let y = x - o + m;
  if (y <= 0) { return 0; }
  return w * (y / m) + min(y % m, w);
}
`;

/** The key lattice's constants and helpers, and `covered` over the plain-tile regions' ranges. */
export function latticeWgsl({ lattice }: KernelLattice, naturalCount: number): string {
  const covered = naturalCount === 0
    ? "return false;"
    : `let t = floor_div(key, BN);\n  for (var n = 0; n < ${naturalCount}; n++) { if (t >= covered_lo[n] && t <= covered_hi[n]) { return true; } }\n  return false;`;
  return `const LATTICE_M: i32 = ${lattice.modulus};
const LATTICE_W: i32 = ${lattice.width};
${naturalCount === 0 ? "" : `// Key tiles the plain-tile regions visit (first, last), set once per workgroup.
var<private> covered_lo: array<i32, ${naturalCount}>;
var<private> covered_hi: array<i32, ${naturalCount}>;
`}
fn lattice_key(j: i32, o: i32) -> i32 { return run_at(j, o, LATTICE_M, LATTICE_W); }
fn lattice_index(x: i32, o: i32) -> i32 { return run_index(x, o, LATTICE_M, LATTICE_W); }

fn tile_key(t: i32, j: i32, on_lattice: bool, o: i32) -> i32 {
  return select(t * BN + j, lattice_key(t * BN + j, o), on_lattice);
}

// Keys that a plain-tile region's visit counts already.
fn covered(key: i32) -> bool {
  ${covered}
}
`;
}

/** Loads key tile t into workgroup memory (every invocation helps). */
export const visitHeaderWgsl = `// Visits key tile t: loads it (every invocation helps), then each valid row folds it into its softmax.
fn visit(t: i32, full: bool, local: i32, row: i32, head: i32, kv_head: i32) {
  let Q_LEN = q_len();
  let K_LEN = k_len();
  let k0 = t * BN;
  let count = min(BN, K_LEN - k0);
${stageTileWgsl("k0 + j", "j < count")}`;

/** The same for kernels with a lattice: tile t is either key tile t or lattice tile t, gathered. */
export const latticeVisitHeaderWgsl = `// Visits key tile t, or lattice tile t when on_lattice (its keys gathered from K and V), then each valid
// row folds it into its softmax. Keys outside 0..K-1 are never loaded nor kept.
fn visit(t: i32, full: bool, on_lattice: bool, o: i32, local: i32, row: i32, head: i32, kv_head: i32) {
  let Q_LEN = q_len();
  let K_LEN = k_len();
  let k0 = t * BN;
  let count = select(min(BN, K_LEN - k0), BN, on_lattice);
${stageTileWgsl("tile_key(t, j, on_lattice, o)", "j < count && key >= 0 && key < K_LEN")}`;
