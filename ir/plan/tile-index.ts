import type { BoolNode } from "../pattern/nodes.js";
import type { Sizes } from "../pattern/eval-int.js";
import type { HeadContext } from "../mask/interpret.js";
import { classifyTile } from "../mask/tile-class.js";
import type { Schedule } from "./plan.js";

/**
 * The tile index of a dynamic pattern: per head and query tile, two bitmaps over the key tiles — `touched`
 * (visit it) and `full` (visit it without a mask; a subset of touched). Fixed size, so a device builder
 * writes it with one invocation per 32 key tiles and no prefix sums, and the attention kernel walks the set
 * bits (a 16k-key row of 64-key tiles is 8 words). Layout, in u32 words, per head:
 * [query tile][touched words | full words], `tileIndexWords(sizes, schedule)` words per head.
 */
export interface TileIndexShape {
  readonly queryTiles: number;
  readonly keyTiles: number;
  /** Words of one bitmap: ⌈keyTiles / 32⌉. */
  readonly words: number;
}

export function tileIndexShape(sizes: Pick<Sizes, "Q" | "K">, schedule: Schedule): TileIndexShape {
  const keyTiles = Math.ceil(sizes.K / schedule.blockN);
  return { queryTiles: Math.ceil(sizes.Q / schedule.blockM), keyTiles, words: Math.ceil(keyTiles / 32) };
}

export function tileIndexWords(sizes: Pick<Sizes, "Q" | "K">, schedule: Schedule): number {
  const shape = tileIndexShape(sizes, schedule);
  return shape.queryTiles * 2 * shape.words;
}

/** The reference builder: one head's tile index from the tile classifier, on the host. */
export function buildTileIndex(mask: BoolNode, context: HeadContext, schedule: Schedule): Uint32Array {
  const { sizes } = context.binding;
  const shape = tileIndexShape(sizes, schedule);
  const index = new Uint32Array(tileIndexWords(sizes, schedule));
  for (let qt = 0; qt < shape.queryTiles; qt++) {
    const rowStart = qt * schedule.blockM, rowEnd = Math.min(sizes.Q, rowStart + schedule.blockM);
    const touched = qt * 2 * shape.words, full = touched + shape.words;
    for (let t = 0; t < shape.keyTiles; t++) {
      const kStart = t * schedule.blockN, kEnd = Math.min(sizes.K, kStart + schedule.blockN);
      const kind = classifyTile(mask, context, { rowStart, rowEnd, kStart, kEnd });
      const bit = (1 << (t % 32)) >>> 0, word = Math.floor(t / 32);
      if (kind !== "none") index[touched + word] = ((index[touched + word] ?? 0) | bit) >>> 0;
      if (kind === "all") index[full + word] = ((index[full + word] ?? 0) | bit) >>> 0;
    }
  }
  return index;
}

/** Key tiles of one query tile as text, one character each: F full, P partial, . skipped (for tests and dumps). */
export function tileIndexRow(index: Uint32Array, shape: TileIndexShape, queryTile: number, headOffset = 0): string {
  const base = headOffset + queryTile * 2 * shape.words;
  let text = "";
  for (let t = 0; t < shape.keyTiles; t++) {
    const bit = (bitmap: number): boolean => (((index[base + bitmap + Math.floor(t / 32)] ?? 0) >>> (t % 32)) & 1) === 1;
    text += bit(shape.words) ? "F" : bit(0) ? "P" : ".";
  }
  return text;
}
