import { encodePng } from "../../util/png.js";
import { layout, lengthLabel, ticks, type Figure, type Rgb } from "./figure.js";
import { glyphHeight, glyphPixel, glyphWidth } from "./font.js";

/** Text is drawn at this many pixels per font pixel. */
const textScale = 2;
const advance = (glyphWidth + 1) * textScale;
const black: Rgb = [0, 0, 0];
const grey: Rgb = [90, 90, 90];

/** The figure as a PNG: heatmap, frame, ticks and their labels, axis labels, title and legend. */
export function figurePng(figure: Figure): Uint8Array {
  const { width, height, plot, zoomX, zoomY } = layout(figure);
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const set = (x: number, y: number, colour: Rgb): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    rgb.set(colour, (y * width + x) * 3);
  };
  const fill = (x: number, y: number, w: number, h: number, colour: Rgb): void => {
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) set(xx, yy, colour);
  };
  const text = (value: string, x: number, y: number, align: "left" | "right" | "centre" = "left"): void => {
    const start = align === "left" ? x : align === "right" ? x - value.length * advance : x - (value.length * advance) / 2;
    [...value].forEach((char, at) => {
      for (let gy = 0; gy < glyphHeight; gy++) {
        for (let gx = 0; gx < glyphWidth; gx++) if (glyphPixel(char, gx, gy)) fill(Math.round(start + at * advance + gx * textScale), y + gy * textScale, textScale, textScale, black);
      }
    });
  };
  for (let row = 0; row < figure.cells.rows; row++) {
    for (let col = 0; col < figure.cells.cols; col++) fill(plot.x + col * zoomX, plot.y + row * zoomY, zoomX, zoomY, figure.cells.colour(col, row));
  }
  // Frame, then ticks outside it.
  fill(plot.x - 1, plot.y - 1, plot.width + 2, 1, black);
  fill(plot.x - 1, plot.y + plot.height, plot.width + 2, 1, black);
  fill(plot.x - 1, plot.y - 1, 1, plot.height + 2, black);
  fill(plot.x + plot.width, plot.y - 1, 1, plot.height + 2, black);
  for (const value of ticks(figure.xMax)) {
    const x = plot.x + Math.round((value / figure.xMax) * plot.width);
    fill(x, plot.y + plot.height + 1, 1, 5, black);
    text(lengthLabel(value), x, plot.y + plot.height + 9, "centre");
  }
  for (const value of ticks(figure.yMax)) {
    const y = plot.y + Math.round((value / figure.yMax) * plot.height);
    fill(plot.x - 6, y, 5, 1, black);
    text(lengthLabel(value), plot.x - 9, y - glyphHeight, "right");
  }
  text(figure.xLabel, plot.x + plot.width / 2, plot.y + plot.height + 28, "centre");
  text(figure.yLabel, 4, plot.y - 16);
  text(figure.title, 4, 6);
  figure.legend.forEach((entry, at) => {
    const x = plot.x + plot.width + 16, y = plot.y + at * 20;
    fill(x, y, 12, 12, grey);
    fill(x + 1, y + 1, 10, 10, entry.colour);
    text(entry.label, x + 18, y + 1);
  });
  return encodePng(width, height, rgb);
}
