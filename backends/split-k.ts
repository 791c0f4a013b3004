import type { AttentionKernel } from "../ir/kernel/kernel.js";
import { queryTileCount } from "../ir/kernel/kernel.js";
import type { Sizes } from "../ir/pattern/eval-int.js";
import { groupsRows } from "./c-like/segments.js";

/**
 * Split-K (flash-decoding), the policy both backends share: when a launch has too few query tiles to fill
 * the device (decode: Q of 1 to 16 rows), its key tiles are dealt out to several blocks per query tile, each
 * writing its rows normalised by its own sum with their log-sum-exp; a combine kernel merges them.
 */
/** Splits never get fewer key tiles than this each (each split pays a combine share and its own setup). */
export const minTilesPerSplit = 16;
export const maxSplits = 64;

/**
 * How many splits a launch gets on a device that runs `concurrency` workgroups at once: 1 when its query
 * tiles and heads already make that many; otherwise enough to reach it, at most one per `minTilesPerSplit`
 * key tiles and `maxSplits`.
 */
export function splitsFor(kernel: AttentionKernel, sizes: Sizes, heads: number, concurrency: number, pack = 1): number {
  const workgroups = queryTileCount(kernel, pack * sizes.Q) * (heads / pack);
  if (workgroups >= concurrency) return 1;
  const keyTiles = Math.ceil(sizes.K / kernel.blockN);
  return Math.max(1, Math.min(maxSplits, Math.ceil(concurrency / workgroups), Math.floor(keyTiles / minTilesPerSplit)));
}

/**
 * GQA decode, the other policy both backends share: how many query heads of one KV head a workgroup (CUDA:
 * block) serves together, their rows head-major in its slots, so each K/V tile is loaded once for all of
 * them. Only when a head's rows do not fill a tile (Q < BM), the launch's heads come in whole groups of
 * H / KVH that share their KV head, and the kernel walks consecutive rows with a head-independent plan (no
 * row groups, no per-head tile index); 1 otherwise.
 */
export function packFor(kernel: AttentionKernel, sizes: Sizes, heads: readonly number[]): number {
  const group = sizes.H / sizes.KVH;
  if (group <= 1 || sizes.Q >= kernel.blockM || kernel.segments.kind === "tileIndex" || groupsRows(kernel)) return 1;
  if (heads.length % group !== 0) return 1;
  const kvHead = (head: number): number => Math.floor((head * sizes.KVH) / sizes.H);
  for (let at = 0; at < heads.length; at += group) {
    const first = kvHead(heads[at] ?? -1);
    for (let g = 1; g < group; g++) if (kvHead(heads[at + g] ?? -1) !== first) return 1;
  }
  return group;
}
