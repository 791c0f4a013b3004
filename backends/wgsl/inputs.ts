/**
 * WGSL accessors for runtime inputs on the device, reading the packed words (`aux`) through the directory
 * (`aux_dir`: per input base, words per leaf, rows, columns; see passes/device-inputs.ts). Out-of-range
 * positions and blocks are not in a set, as in the mask evaluator, and no access leaves its leaf.
 */
export const inputAccessorsWgsl = `
@group(0) @binding(7) var<storage, read> aux: array<u32>;
@group(0) @binding(8) var<storage, read> aux_dir: array<u32>;

fn aux_bit(slot: u32, leaf: i32, index: i32, count: i32) -> bool {
  if (index < 0 || index >= count) { return false; }
  let word = aux[aux_dir[4u * slot] + aux_dir[4u * slot + 1u] * u32(leaf) + u32(index) / 32u];
  return ((word >> (u32(index) % 32u)) & 1u) != 0u;
}

fn in_index(slot: u32, leaf: i32, value: i32) -> bool {
  return aux_bit(slot, leaf, value, i32(aux_dir[4u * slot + 3u]));
}

fn in_blocks(slot: u32, leaf: i32, row: i32, col: i32) -> bool {
  let rows = i32(aux_dir[4u * slot + 2u]);
  let cols = i32(aux_dir[4u * slot + 3u]);
  if (row < 0 || row >= rows || col < 0 || col >= cols) { return false; }
  return aux_bit(slot, leaf, row * cols + col, rows * cols);
}

fn table_at(slot: u32, leaf: i32) -> bool {
  return aux[aux_dir[4u * slot] + u32(leaf)] != 0u;
}

fn ids_at(slot: u32, position: i32) -> i32 {
  let count = i32(aux_dir[4u * slot + 3u]);
  return bitcast<i32>(aux[aux_dir[4u * slot] + u32(clamp(position, 0, count - 1))]);
}
`;

/** The loop over an index plan: segments per head and query tile, read into workgroup memory so every
 * invocation agrees on the bounds (the loops hold barriers). `slots` is the number of inputs. */
export function indexPlanLoopWgsl(slots: number): string {
  return `  let tiles = (Q_LEN + BM - 1) / BM;
  workgroupBarrier();
  if (local == 0) {
    let offsets = aux_dir[${4 * slots}u] + u32(head * (tiles + 1) + tile);
    plan_words[0] = aux[offsets];
    plan_words[1] = aux[offsets + 1u];
  }
  let first_segment = workgroupUniformLoad(&plan_words[0]);
  let end_segment = workgroupUniformLoad(&plan_words[1]);
  for (var s = first_segment; s < end_segment; s++) {
    workgroupBarrier();
    if (local == 0) {
      let at = aux_dir[${4 * slots + 1}u] + 2u * s;
      plan_words[0] = aux[at];
      plan_words[1] = aux[at + 1u];
    }
    let start = workgroupUniformLoad(&plan_words[0]);
    let end = i32(workgroupUniformLoad(&plan_words[1]));
    let full = (start >> 31u) == 1u;
    for (var t = i32(start & 0x7fffffffu); t < end; t++) { visit(t, full, local, row, head, kv_head); }
  }`;
}
