import type { Binding } from "../pattern/binding.js";
import type { BlockPlan, PlanStats } from "../plan/plan.js";
import { blend, lengthLabel, percent, type Figure, type Rgb } from "./figure.js";
import { pictureGrid } from "./grid.js";

/** The pictures `stipple mask --format png|svg` and `stipple plan --format png|svg` draw, for any length. */
const white: Rgb = [255, 255, 255];
const ink: Rgb = [30, 60, 140];
const fullTile: Rgb = [161, 217, 155];
const partialTile: Rgb = [253, 190, 133];

/** Ink by the square root of the kept share: a line one key in 64 still shows at 1M, a full cell is solid. */
const inkShare = (share: number): number => Math.sqrt(Math.max(0, share));

function title(binding: Binding, head: number, layer: number, stats: PlanStats): string {
  const { Q, K } = binding.sizes;
  return `${binding.pattern.name}  Q ${lengthLabel(Q)} × K ${lengthLabel(K)}  head ${head} layer ${layer}  density ${percent(stats.density)} (${percent(stats.keptPairs / Math.max(1, stats.causalPairs))} of causal)`;
}

function shadeNote(grid: { keysPerCol: number; queriesPerRow: number }): string {
  return grid.keysPerCol > 1 || grid.queriesPerRow > 1 ? `a cell: ${lengthLabel(Math.round(grid.queriesPerRow))} × ${lengthLabel(Math.round(grid.keysPerCol))} pairs` : "a cell: one pair";
}

/** The kept pairs, shaded by the kept share of each cell when a cell covers many pairs. */
export function maskFigure(binding: Binding, head: number, layer: number, plan: BlockPlan, stats: PlanStats, side = 512): Figure {
  const grid = pictureGrid(binding, head, layer, plan, side);
  return {
    title: title(binding, head, layer, stats),
    xLabel: "key position k", yLabel: "query row i",
    xMax: binding.sizes.K, yMax: binding.sizes.Q,
    cells: { cols: grid.cols, rows: grid.rows, colour: (col, row) => blend(white, ink, inkShare(grid.kept[row * grid.cols + col] ?? 0)) },
    legend: [
      { colour: ink, label: "kept" },
      { colour: blend(white, ink, inkShare(0.25)), label: "a quarter kept" },
      { colour: white, label: "dropped" },
      { colour: white, label: shadeNote(grid) },
    ],
  };
}

/** The plan's tiles (full: no mask; partial: masked; white: skipped) with the kept pairs over them. */
export function planFigure(binding: Binding, head: number, layer: number, plan: BlockPlan, stats: PlanStats, side = 512): Figure {
  const grid = pictureGrid(binding, head, layer, plan, side);
  const colour = (col: number, row: number): Rgb => {
    const at = row * grid.cols + col;
    const full = grid.full[at] ?? 0, partial = grid.partial[at] ?? 0;
    const mix = (c: 0 | 1 | 2): number => Math.round(white[c] * (1 - full - partial) + fullTile[c] * full + partialTile[c] * partial);
    const base: Rgb = [mix(0), mix(1), mix(2)];
    return blend(base, ink, 0.85 * inkShare(grid.kept[at] ?? 0));
  };
  return {
    title: `${title(binding, head, layer, stats)}  tiles ${plan.schedule.blockM}×${plan.schedule.blockN}  efficiency ${percent(stats.tileEfficiency)}`,
    xLabel: "key position k", yLabel: "query row i",
    xMax: binding.sizes.K, yMax: binding.sizes.Q,
    cells: { cols: grid.cols, rows: grid.rows, colour },
    legend: [
      { colour: fullTile, label: "full tile (no mask)" },
      { colour: partialTile, label: "partial tile (masked)" },
      { colour: white, label: "skipped tile" },
      { colour: blend(white, ink, 0.85), label: "kept pairs" },
      { colour: white, label: shadeNote(grid) },
    ],
  };
}
