import type { AttentionKernel } from "../kernel/kernel.js";
import type { BoolNode, InputRef } from "../pattern/nodes.js";
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

/**
 * Gathered lines that are dense in a tile are better visited with it: the tile's loads serve many kept
 * pairs (a local band of diagonals, a run of sink columns), while a gathered key serves one row or one
 * column. A key tile is touched too when the listed columns in its keys number at least ⌈BN / 4⌉, or the
 * listed offsets its pairs span (q − k over the tile, clamped at 0) at least ⌈max(BM, BN) / 4⌉: then about
 * a quarter of its pairs or more are on the lines, and the whole mask keeps some pair of the tile (else the
 * visit would fold nothing: say columns past a causal tile's last row). The gathers skip keys in touched
 * tiles, so this only moves pairs between paths. The device builders apply the same rule
 * (backends/wgsl/tile-builder.ts, backends/cuda/tile-builder.ts).
 */
export interface DenseLines {
  readonly columns?: InputRef;
  readonly diagonals?: InputRef;
}

export function denseLineThresholds(schedule: Schedule): { columns: number; diagonals: number } {
  return { columns: Math.ceil(schedule.blockN / 4), diagonals: Math.ceil(Math.max(schedule.blockM, schedule.blockN) / 4) };
}

/** The lines a kernel gathers, for the builders' density rule. */
export function denseLinesOf(kernel: Pick<AttentionKernel, "gathers">): DenseLines {
  const { columns, diagonals } = kernel.gathers ?? {};
  return { ...(columns === undefined ? {} : { columns: columns.input }), ...(diagonals === undefined ? {} : { diagonals: diagonals.input }) };
}

/**
 * The reference builder: one head's tile index from the tile classifier (and the density rule), on the host.
 * `mask` decides which tiles are touched; a touched tile is full when `wholeMask` keeps every pair of it.
 * They differ when lines are gathered: the tile mask leaves the lines out, but a band of listed diagonals or
 * a run of listed columns that fills a tile makes it full (no mask test on its pairs), which is most of a
 * vertical-slash pattern's local band. The gathers skip keys in touched tiles, so the tile owns its pairs.
 */
export function buildTileIndex(mask: BoolNode, context: HeadContext, schedule: Schedule, lines: DenseLines = {}, wholeMask: BoolNode = mask): Uint32Array {
  const { sizes } = context.binding;
  const shape = tileIndexShape(sizes, schedule);
  const index = new Uint32Array(tileIndexWords(sizes, schedule));
  for (let qt = 0; qt < shape.queryTiles; qt++) {
    const rowStart = qt * schedule.blockM, rowEnd = Math.min(sizes.Q, rowStart + schedule.blockM);
    const touched = qt * 2 * shape.words, full = touched + shape.words;
    for (let t = 0; t < shape.keyTiles; t++) {
      const kStart = t * schedule.blockN, kEnd = Math.min(sizes.K, kStart + schedule.blockN);
      const tile = { rowStart, rowEnd, kStart, kEnd };
      const kind = classifyTile(mask, context, tile);
      const bit = (1 << (t % 32)) >>> 0, word = Math.floor(t / 32);
      const dense = kind === "none" && denseLines(lines, context, schedule, sizes.K - sizes.Q + rowStart, sizes.K - sizes.Q + rowEnd - 1, kStart, kEnd - 1);
      // The whole mask's class, once, as the device builders compute it: gathered lines can fill a touched
      // tile, and dense lines touch a tile only where the whole mask keeps some pair of it (columns above
      // the diagonal of a causal mask are dense in their key tiles but kept by no row of this query tile).
      const whole = kind === "all" || wholeMask === mask || (kind === "none" && !dense) ? kind : classifyTile(wholeMask, context, tile);
      if (kind === "none" && !(dense && whole !== "none")) continue;
      index[touched + word] = ((index[touched + word] ?? 0) | bit) >>> 0;
      if (whole === "all") index[full + word] = ((index[full + word] ?? 0) | bit) >>> 0;
    }
  }
  return index;
}

function denseLines(lines: DenseLines, context: HeadContext, schedule: Schedule, qLo: number, qHi: number, kLo: number, kHi: number): boolean {
  const thresholds = denseLineThresholds(schedule);
  const members = (input: InputRef, lo: number, hi: number): number => {
    const leaf = context.leaf(input);
    if (leaf.kind !== "index") return 0;
    let count = 0;
    for (let v = Math.max(lo, 0); v <= Math.min(hi, leaf.members.length - 1); v++) count += leaf.members[v] ?? 0;
    return count;
  };
  return (lines.columns !== undefined && members(lines.columns, kLo, kHi) >= thresholds.columns)
    || (lines.diagonals !== undefined && members(lines.diagonals, qLo - kHi, qHi - kLo) >= thresholds.diagonals);
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
