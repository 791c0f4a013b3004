import type { Tensor3 } from "../reference/dense-attention.js";
import { queryBlockPositions } from "./block-top-k.js";
import type { BlockChoice } from "./block-top-k.js";
import type { XAttentionEstimator } from "./estimator.js";

/** Where a query block's kept key blocks start: which are causal, which are always kept. */
export function blockRoles(b: number, c: number, block: number, Q: number, K: number): { causal: boolean; forced: boolean } {
  const { first, last } = queryBlockPositions(b, block, Q, K);
  const causal = c * block <= last;
  return { causal, forced: causal && (c === 0 || (c + 1) * block - 1 >= first) };
}

/**
 * The block masses of XAttention's anti-diagonal scoring (see XAttentionEstimator), in Float64: per head and
 * query block, one mass per key block. Each cell row's probabilities sum to 1 (or 0 when no cell of the row
 * holds a causal pair), so a query block's masses sum to its number of such cell rows.
 */
export function xattentionMasses(q: Tensor3, k: Tensor3, estimator: XAttentionEstimator, scale = 1 / Math.sqrt(q.shape[2])): Float64Array[][] {
  const [H, Q, D] = q.shape;
  const [KVH, K] = k.shape;
  const { block, stride: S } = estimator;
  const cellRows = Math.ceil(Q / S), cellCols = Math.ceil(K / S);
  const rowBlocks = Math.ceil(Q / block), colBlocks = Math.ceil(K / block);
  const masses: Float64Array[][] = [];
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor((h * KVH) / H);
    const head = Array.from({ length: rowBlocks }, () => new Float64Array(colBlocks));
    for (let a = 0; a < cellRows; a++) {
      const scores = new Float64Array(cellCols).fill(-Infinity);
      let max = -Infinity;
      for (let c = 0; c < cellCols; c++) {
        let dot = 0, terms = 0;
        for (let s = 0; s < S; s++) {
          const row = a * S + S - 1 - s, key = c * S + s;
          if (row >= Q || key >= K || key > K - Q + row) continue;
          for (let d = 0; d < D; d++) dot += (q.data[(h * Q + row) * D + d] ?? 0) * (k.data[(kvh * K + key) * D + d] ?? 0);
          terms++;
        }
        if (terms === 0) continue;
        scores[c] = (dot * scale) / S;
        max = Math.max(max, scores[c] ?? -Infinity);
      }
      if (max === -Infinity) continue;
      let sum = 0;
      for (const score of scores) sum += Math.exp(score - max);
      const masses = head[Math.floor((a * S) / block)];
      if (masses === undefined) continue;
      scores.forEach((score, c) => {
        const kb = Math.floor((c * S) / block);
        masses[kb] = (masses[kb] ?? 0) + Math.exp(score - max) / sum;
      });
    }
    masses.push(head);
  }
  return masses;
}

/**
 * The reference XAttention estimator: masses as above, then per query block the forced blocks plus the
 * fewest causal blocks, heaviest first (ties: lower index), whose mass with the forced ones reaches
 * `threshold` of the row's total. `scores` are the masses (forced +∞, non-causal −∞), as the other block
 * estimators report them.
 */
export function estimateXAttention(q: Tensor3, k: Tensor3, estimator: XAttentionEstimator): BlockChoice & { readonly masses: Float64Array[][] } {
  const [, Q] = q.shape;
  const [, K] = k.shape;
  const masses = xattentionMasses(q, k, estimator);
  const { block, threshold } = estimator;
  const blocks = masses.map((head) => head.map((row, b) => {
    const chosen = new Array<number>(row.length).fill(0);
    let total = 0, kept = 0;
    const candidates: number[] = [];
    row.forEach((mass, c) => {
      total += mass;
      const { causal, forced } = blockRoles(b, c, block, Q, K);
      if (forced) {
        chosen[c] = 1;
        kept += mass;
      } else if (causal) candidates.push(c);
    });
    candidates.sort((x, y) => (row[y] ?? 0) - (row[x] ?? 0) || x - y);
    for (const c of candidates) {
      if (kept >= threshold * total) break;
      chosen[c] = 1;
      kept += row[c] ?? 0;
    }
    return chosen;
  }));
  const scores = masses.map((head) => head.map((row, b) => row.map((mass, c) => {
    const { causal, forced } = blockRoles(b, c, block, Q, K);
    return forced ? Infinity : causal ? mass : -Infinity;
  })));
  return { blocks, scores, masses };
}
