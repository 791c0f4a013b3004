import { encodePng } from "../../util/png.js";
import type { Bitset } from "./bitset.js";

/** Largest side of a mask picture in pixels; larger masks are shaded by the density of each cell. */
export const maxPictureSide = 1024;

/**
 * Draws a mask: kept pairs dark, dropped pairs white; when the mask is larger than the picture, each pixel
 * covers a cell of pairs and its grey level is the cell's kept fraction.
 */
export function maskPng(mask: Bitset): Uint8Array {
  const scale = Math.max(1, Math.ceil(Math.max(mask.rows, mask.cols) / maxPictureSide));
  // Small masks are enlarged so that one pair is several pixels and stays visible.
  const zoom = scale === 1 ? Math.max(1, Math.floor(512 / Math.max(mask.rows, mask.cols))) : 1;
  const width = Math.ceil(mask.cols / scale) * zoom;
  const height = Math.ceil(mask.rows / scale) * zoom;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const r0 = Math.floor(y / zoom) * scale;
    const r1 = Math.min(mask.rows, r0 + scale);
    for (let x = 0; x < width; x++) {
      const c0 = Math.floor(x / zoom) * scale;
      const c1 = Math.min(mask.cols, c0 + scale);
      let kept = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) if (mask.get(r, c)) kept++;
      const density = kept / ((r1 - r0) * (c1 - c0));
      // Ink colour (a dark blue) blended over white by density.
      const at = (y * width + x) * 3;
      rgb[at] = Math.round(255 - density * (255 - 30));
      rgb[at + 1] = Math.round(255 - density * (255 - 60));
      rgb[at + 2] = Math.round(255 - density * (255 - 140));
    }
  }
  return encodePng(width, height, rgb);
}
