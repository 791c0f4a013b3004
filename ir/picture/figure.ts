/**
 * A picture of a mask or a plan, independent of its format: a heatmap of cells over keys (x) and query
 * rows (y, top to bottom), a title, axis labels, ticks and a legend. figure-png.ts and figure-svg.ts draw it.
 */
export type Rgb = readonly [number, number, number];

export interface Figure {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** K and Q: what the heatmap's width and height stand for. */
  readonly xMax: number;
  readonly yMax: number;
  readonly cells: { readonly cols: number; readonly rows: number; readonly colour: (col: number, row: number) => Rgb };
  readonly legend: readonly { readonly colour: Rgb; readonly label: string }[];
}

/** Where everything goes, in pixels. */
export interface Layout {
  readonly width: number;
  readonly height: number;
  readonly plot: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  readonly zoomX: number;
  readonly zoomY: number;
}

const plotSide = 512;
const minPlotSide = 48;
export const margins = { left: 64, right: 240, top: 40, bottom: 48 } as const;

export function layout(figure: Figure): Layout {
  const { cols, rows } = figure.cells;
  const zoom = Math.max(1, Math.floor(plotSide / Math.max(cols, rows)));
  // A decode picture (a few rows, many keys) still gets a readable height.
  const zoomX = Math.max(zoom, Math.ceil(minPlotSide / cols)), zoomY = Math.max(zoom, Math.ceil(minPlotSide / rows));
  const plot = { x: margins.left, y: margins.top, width: cols * zoomX, height: rows * zoomY };
  return { width: plot.width + margins.left + margins.right, height: plot.height + margins.top + margins.bottom, plot, zoomX, zoomY };
}

/** Tick values from 0 to max: powers of two steps for lengths past 16 (so 1M shows 256K, 512K, …), at most 5 intervals. */
export function ticks(max: number): number[] {
  if (max <= 0) return [0];
  const step = max <= 16 ? Math.max(1, Math.ceil(max / 4)) : 2 ** Math.ceil(Math.log2(max / 5));
  const values: number[] = [];
  for (let value = 0; value <= max; value += step) values.push(value);
  return values;
}

/** 1048576 → "1M", 65536 → "64K", 1000 → "1000". */
export function lengthLabel(n: number): string {
  if (n >= 2 ** 20 && n % 2 ** 20 === 0) return `${n / 2 ** 20}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}

export function percent(share: number): string {
  const value = 100 * share;
  return `${value >= 10 || value === 0 ? value.toFixed(1) : value.toPrecision(2)}%`;
}

/** Ink over white by share (white at 0, the colour at 1). */
export function blend(base: Rgb, ink: Rgb, share: number): Rgb {
  const s = Math.min(1, Math.max(0, share));
  return [Math.round(base[0] + (ink[0] - base[0]) * s), Math.round(base[1] + (ink[1] - base[1]) * s), Math.round(base[2] + (ink[2] - base[2]) * s)];
}
