/**
 * WGSL accessors for runtime inputs on the device, reading the packed words (`aux`) through the directory
 * at their start (per input: base, words per leaf, rows, columns; see passes/device-inputs.ts). Out-of-range
 * positions and blocks are not in a set, as in the mask evaluator, and no access leaves its leaf. The attention
 * kernel and the tile-index builder bind them at the same places.
 */
export const inputAccessorsWgsl = `
@group(0) @binding(7) var<storage, read> aux: array<u32>;

fn aux_bit(slot: u32, leaf: i32, index: i32, count: i32) -> bool {
  if (index < 0 || index >= count) { return false; }
  let word = aux[aux[4u * slot] + aux[4u * slot + 1u] * u32(leaf) + u32(index) / 32u];
  return ((word >> (u32(index) % 32u)) & 1u) != 0u;
}

fn in_index(slot: u32, leaf: i32, value: i32) -> bool {
  return aux_bit(slot, leaf, value, i32(aux[4u * slot + 3u]));
}

fn in_blocks(slot: u32, leaf: i32, row: i32, col: i32) -> bool {
  let rows = i32(aux[4u * slot + 2u]);
  let cols = i32(aux[4u * slot + 3u]);
  if (row < 0 || row >= rows || col < 0 || col >= cols) { return false; }
  return aux_bit(slot, leaf, row * cols + col, rows * cols);
}

fn table_at(slot: u32, leaf: i32) -> bool {
  return aux[aux[4u * slot] + u32(leaf)] != 0u;
}

fn ids_at(slot: u32, position: i32) -> i32 {
  let count = i32(aux[4u * slot + 3u]);
  return bitcast<i32>(aux[aux[4u * slot] + u32(clamp(position, 0, count - 1))]);
}
`;

/**
 * The loop over a tile index (ir/plan/tile-index.ts) built by the device builder into binding 8: per 32 key
 * tiles, the touched and full words; each touched tile is visited, unmasked where its full bit is set. The
 * words are read straight from the index: a read-only storage load at a uniform index is uniform in WGSL,
 * so every invocation agrees on them and the visits' barriers stay in uniform control flow, with no barrier
 * of its own (on a software adapter each barrier switches every invocation's fiber). One loop finds the
 * next touched tile and the visit sits right in the outer loop, not inside a loop over a word's bits: on
 * SwiftShader that nesting cost 10 % of a vertical-slash kernel (8k, 5 %: 421 → 377 ms), for the same
 * visits.
 */
export const tileIndexLoopWgsl = `  let tiles = (Q_LEN + BM - 1) / BM;
  let words = ((K_LEN + BN - 1) / BN + 31) / 32;
  let index_base = (i32(group.z) * tiles + tile) * 2 * words;
  let index_tiles = words * 32;
  var t = -1;
  loop {
    // The next touched tile after t, if any: the rest of its word, then whole words.
    t++;
    loop {
      if (t >= index_tiles) { break; }
      let rest = tile_index[index_base + t / 32] >> u32(t % 32);
      if (rest != 0u) {
        t += i32(firstTrailingBit(rest));
        break;
      }
      t = (t / 32 + 1) * 32;
    }
    if (t >= index_tiles) { break; }
    let full = ((tile_index[index_base + words + t / 32] >> u32(t % 32)) & 1u) == 1u;
    if (t % splits == split) { visit(t, full, local, row, head, kv_head); }
  }`;
