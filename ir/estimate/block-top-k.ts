import type { Tensor3 } from "../reference/dense-attention.js";
import type { BlockTopKEstimator } from "./estimator.js";
import { topIndices } from "./top-n.js";

/** Per query head, the chosen block set: ⌈Q/block⌉ rows of ⌈K/block⌉ 0/1 entries. */
export interface BlockChoice {
  readonly blocks: number[][][];
  /** Per head and query block, the scores the key blocks were chosen by (forced +∞, non-causal −∞). */
  readonly scores: Float64Array[][];
}

/** Positions of query block b's first and last rows (row i sits at K − Q + i). */
export function queryBlockPositions(b: number, block: number, Q: number, K: number): { first: number; last: number } {
  return { first: K - Q + b * block, last: K - Q + Math.min(Q, (b + 1) * block) - 1 };
}

/**
 * The reference block estimator (see BlockTopKEstimator), in Float64. Key blocks that start after the query
 * block's last position score −∞ and are never chosen; those that hold a row's diagonal score +∞; the
 * budget is min(topK, causal key blocks).
 */
export function estimateBlockTopK(q: Tensor3, k: Tensor3, estimator: BlockTopKEstimator): BlockChoice {
  const [H, Q, D] = q.shape;
  const [KVH, K] = k.shape;
  const { block } = estimator;
  const rowBlocks = Math.ceil(Q / block), colBlocks = Math.ceil(K / block);
  const pooled = (t: Tensor3, head: number, length: number, b: number): Float64Array => {
    const mean = new Float64Array(D);
    const end = Math.min(length, (b + 1) * block);
    for (let at = b * block; at < end; at++) for (let d = 0; d < D; d++) mean[d] = (mean[d] ?? 0) + (t.data[(head * length + at) * D + d] ?? 0);
    return mean.map((x) => x / (end - b * block));
  };
  const choice: BlockChoice = { blocks: [], scores: [] };
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor((h * KVH) / H);
    const keys = Array.from({ length: colBlocks }, (_, c) => pooled(k, kvh, K, c));
    const headBlocks: number[][] = [];
    const headScores: Float64Array[] = [];
    for (let b = 0; b < rowBlocks; b++) {
      const query = pooled(q, h, Q, b);
      const { first, last } = queryBlockPositions(b, block, Q, K);
      const scores = new Float64Array(colBlocks);
      let causal = 0;
      for (let c = 0; c < colBlocks; c++) {
        if (c * block > last) scores[c] = -Infinity;
        else if ((c + 1) * block - 1 >= first) scores[c] = Infinity;
        else scores[c] = (keys[c] ?? new Float64Array(D)).reduce((sum, x, d) => sum + x * (query[d] ?? 0), 0);
        if (c * block <= last) causal++;
      }
      const kept = new Set(topIndices(scores, Math.min(estimator.topK, causal)));
      headBlocks.push(Array.from({ length: colBlocks }, (_, c) => (kept.has(c) ? 1 : 0)));
      headScores.push(scores);
    }
    choice.blocks.push(headBlocks);
    choice.scores.push(headScores);
  }
  return choice;
}
