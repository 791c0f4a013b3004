import { encodePng } from "../../util/png.js";
import { layout, lengthLabel, ticks, type Figure, type Rgb } from "./figure.js";

/**
 * The figure as SVG: the heatmap as an embedded pixel image (crisp at any zoom), vector frame and ticks,
 * real text (selectable, any case), and the legend.
 */
export function figureSvg(figure: Figure): string {
  const { width, height, plot, zoomX, zoomY } = layout(figure);
  const { cols, rows } = figure.cells;
  const cells = new Uint8Array(cols * rows * 3);
  for (let row = 0; row < rows; row++) for (let col = 0; col < cols; col++) cells.set(figure.cells.colour(col, row), (row * cols + col) * 3);
  const image = Buffer.from(encodePng(cols, rows, cells)).toString("base64");
  const colour = (c: Rgb): string => `rgb(${c[0]},${c[1]},${c[2]})`;
  const escape = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, monospace" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="4" y="18" font-size="14" font-weight="bold">${escape(figure.title)}</text>`,
    `<image x="${plot.x}" y="${plot.y}" width="${cols * zoomX}" height="${rows * zoomY}" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,${image}"/>`,
    `<rect x="${plot.x - 0.5}" y="${plot.y - 0.5}" width="${plot.width + 1}" height="${plot.height + 1}" fill="none" stroke="black"/>`,
    ...ticks(figure.xMax).map((value) => {
      const x = plot.x + (value / figure.xMax) * plot.width;
      return `<line x1="${x}" y1="${plot.y + plot.height}" x2="${x}" y2="${plot.y + plot.height + 5}" stroke="black"/><text x="${x}" y="${plot.y + plot.height + 18}" text-anchor="middle">${lengthLabel(value)}</text>`;
    }),
    ...ticks(figure.yMax).map((value) => {
      const y = plot.y + (value / figure.yMax) * plot.height;
      return `<line x1="${plot.x - 5}" y1="${y}" x2="${plot.x}" y2="${y}" stroke="black"/><text x="${plot.x - 8}" y="${y + 4}" text-anchor="end">${lengthLabel(value)}</text>`;
    }),
    `<text x="${plot.x + plot.width / 2}" y="${plot.y + plot.height + 38}" text-anchor="middle">${escape(figure.xLabel)}</text>`,
    `<text x="4" y="${plot.y - 8}">${escape(figure.yLabel)}</text>`,
    ...figure.legend.map((entry, at) => {
      const x = plot.x + plot.width + 16, y = plot.y + at * 20;
      return `<rect x="${x}" y="${y}" width="12" height="12" fill="${colour(entry.colour)}" stroke="rgb(90,90,90)"/><text x="${x + 18}" y="${y + 10}">${escape(entry.label)}</text>`;
    }),
    "</svg>",
  ];
  return `${lines.join("\n")}\n`;
}
