import { encodePng } from "../../util/png.js";
import type { Bitset } from "../mask/bitset.js";
import { maxPictureSide } from "../mask/picture.js";
import type { BlockPlan } from "./plan.js";

const colours = {
  empty: [255, 255, 255],
  partial: [253, 208, 162],
  full: [161, 217, 155],
  ink: [30, 60, 140],
} as const;

/**
 * The block plan as a picture: full tiles green, partial tiles orange, empty white; when the mask is given,
 * kept pairs are drawn over it in dark blue (shaded by density when a pixel covers many pairs).
 */
export function planPng(plan: BlockPlan, mask?: Bitset): Uint8Array {
  const { Q, K } = plan.sizes;
  const scale = Math.max(1, Math.ceil(Math.max(Q, K) / maxPictureSide));
  const zoom = scale === 1 ? Math.max(1, Math.floor(512 / Math.max(Q, K))) : 1;
  const width = Math.ceil(K / scale) * zoom;
  const height = Math.ceil(Q / scale) * zoom;
  const rgb = new Uint8Array(width * height * 3);
  const keyTiles = Math.ceil(K / plan.schedule.blockN);
  for (const [tileIndex, tile] of plan.tiles.entries()) {
    const classes = new Array<"empty" | "partial" | "full">(keyTiles).fill("empty");
    for (const s of tile.segments) {
      for (let t = Math.floor(s.kStart / plan.schedule.blockN); t * plan.schedule.blockN < s.kEnd; t++) classes[t] = s.full ? "full" : "partial";
    }
    const y0 = Math.floor((tile.qStart / scale) * zoom);
    const y1 = tileIndex === plan.tiles.length - 1 ? height : Math.floor((tile.qEnd / scale) * zoom);
    for (let y = y0; y < y1; y++) {
      const r0 = Math.floor(y / zoom) * scale;
      const r1 = Math.min(Q, r0 + scale);
      for (let x = 0; x < width; x++) {
        const c0 = Math.floor(x / zoom) * scale;
        const c1 = Math.min(K, c0 + scale);
        const base = colours[classes[Math.floor(c0 / plan.schedule.blockN)] ?? "empty"];
        let density = 0;
        if (mask !== undefined) {
          let kept = 0;
          for (let r = r0; r < r1; r++) kept += mask.countRange(r, c0, c1);
          density = kept / ((r1 - r0) * (c1 - c0));
        }
        const at = (y * width + x) * 3;
        for (let channel = 0; channel < 3; channel++) {
          rgb[at + channel] = Math.round((base[channel] ?? 0) * (1 - density) + (colours.ink[channel] ?? 0) * density);
        }
      }
    }
  }
  return encodePng(width, height, rgb);
}
