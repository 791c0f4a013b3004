import { pairCounter } from "../mask/evaluate.js";
import type { Binding } from "../pattern/binding.js";
import type { BlockPlan } from "../plan/plan.js";

/**
 * What a picture shows, cell by cell, for any length: a grid of at most `side` × `side` cells over the
 * Q × K pairs. Kept shares are counted exactly on up to `samplesPerCell` rows of each cell (every row when
 * the cell has no more), inside the plan's segments only, so a 1M × 1M sparse mask costs its kept pairs on
 * a few thousand rows, not 10^12 pair tests.
 */
export interface PictureGrid {
  readonly cols: number;
  readonly rows: number;
  /** Pairs per cell along each axis (≥ 1; fractional when the grid is coarser than the pairs). */
  readonly keysPerCol: number;
  readonly queriesPerRow: number;
  /** Kept share of each cell, row-major. */
  readonly kept: Float64Array;
  /** Share of each cell's pairs inside full and partial planned segments. */
  readonly full: Float64Array;
  readonly partial: Float64Array;
}

const samplesPerCell = 4;

export function pictureGrid(binding: Binding, head: number, layer: number, plan: BlockPlan, side = 512): PictureGrid {
  const { Q, K } = binding.sizes;
  const cols = Math.min(K, side), rows = Math.min(Q, side);
  const keysPerCol = K / cols, queriesPerRow = Q / rows;
  const kept = new Float64Array(cols * rows), full = new Float64Array(cols * rows), partial = new Float64Array(cols * rows);
  const count = pairCounter(binding, head, layer);
  const colOf = (key: number): number => Math.min(cols - 1, Math.floor(key / keysPerCol));
  const colStart = (col: number): number => Math.ceil(col * keysPerCol - 1e-9);
  for (let y = 0; y < rows; y++) {
    const r0 = Math.ceil(y * queriesPerRow - 1e-9), r1 = Math.ceil((y + 1) * queriesPerRow - 1e-9);
    const samples = Math.min(samplesPerCell, r1 - r0);
    for (let s = 0; s < samples; s++) {
      const row = r0 + Math.floor(((s + 0.5) * (r1 - r0)) / samples);
      const tile = plan.tiles[Math.floor(row / plan.schedule.blockM)];
      for (const segment of tile?.segments ?? []) {
        // Walk the segment cell by cell: the kept pairs (and the planned ones) of this row in each.
        for (let col = colOf(segment.kStart); col < cols && colStart(col) < segment.kEnd; col++) {
          const from = Math.max(segment.kStart, colStart(col)), to = Math.min(segment.kEnd, colStart(col + 1));
          if (to <= from) continue;
          const width = colStart(col + 1) - colStart(col);
          const share = (to - from) / (width * samples);
          kept[y * cols + col] = (kept[y * cols + col] ?? 0) + count(row, from, to) / (width * samples);
          if (segment.full) full[y * cols + col] = (full[y * cols + col] ?? 0) + share;
          else partial[y * cols + col] = (partial[y * cols + col] ?? 0) + share;
        }
      }
    }
  }
  return { cols, rows, keysPerCol, queriesPerRow, kept, full, partial };
}
