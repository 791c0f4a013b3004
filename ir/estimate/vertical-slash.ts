import type { Tensor3 } from "../reference/dense-attention.js";
import type { VerticalSlashEstimator } from "./estimator.js";
import { topIndices } from "./top-n.js";

/** Per query head: the selected key columns and diagonal offsets, ascending. */
export interface VerticalSlashChoice {
  readonly vertical: number[][];
  readonly slash: number[][];
  /** The scores they were chosen by (forced entries +∞), per head: for tests near ties. */
  readonly columnScores: Float64Array[];
  readonly diagonalScores: Float64Array[];
}

/** Budgets as the kernel uses them: at least the forced entries, at most K. */
export function verticalSlashBudgets(estimator: VerticalSlashEstimator, K: number): { vertical: number; slash: number; lastQ: number } {
  return {
    vertical: Math.min(K, Math.max(estimator.verticalSize, estimator.firstColumns)),
    slash: Math.min(K, Math.max(estimator.slashSize, estimator.nearDiagonals)),
    lastQ: estimator.lastQ,
  };
}

/**
 * The reference vertical-slash estimator (see VerticalSlashEstimator), in Float64, on the tensors' values.
 * Rows are the last min(lastQ, Q) query rows; row i sits at position K − Q + i and sees keys 0 … its position.
 */
export function estimateVerticalSlash(q: Tensor3, k: Tensor3, estimator: VerticalSlashEstimator, scale = 1 / Math.sqrt(q.shape[2])): VerticalSlashChoice {
  const [H, Q, D] = q.shape;
  const [KVH, K] = k.shape;
  const budgets = verticalSlashBudgets(estimator, K);
  const rows = Math.min(budgets.lastQ, Q);
  const choice: VerticalSlashChoice = { vertical: [], slash: [], columnScores: [], diagonalScores: [] };
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor((h * KVH) / H);
    const columns = new Float64Array(K);
    const diagonals = new Float64Array(K);
    for (let i = Q - rows; i < Q; i++) {
      const position = K - Q + i;
      const scores = new Float64Array(position + 1);
      let max = -Infinity;
      for (let key = 0; key <= position; key++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += (q.data[(h * Q + i) * D + d] ?? 0) * (k.data[(kvh * K + key) * D + d] ?? 0);
        scores[key] = dot * scale;
        max = Math.max(max, dot * scale);
      }
      let sum = 0;
      for (let key = 0; key <= position; key++) sum += Math.exp((scores[key] ?? 0) - max);
      for (let key = 0; key <= position; key++) {
        const p = Math.exp((scores[key] ?? 0) - max) / sum;
        columns[key] = (columns[key] ?? 0) + p;
        diagonals[position - key] = (diagonals[position - key] ?? 0) + p;
      }
    }
    for (let c = 0; c < Math.min(estimator.firstColumns, K); c++) columns[c] = Infinity;
    for (let o = 0; o < Math.min(estimator.nearDiagonals, K); o++) diagonals[o] = Infinity;
    choice.vertical.push(topIndices(columns, budgets.vertical));
    choice.slash.push(topIndices(diagonals, budgets.slash));
    choice.columnScores.push(columns);
    choice.diagonalScores.push(diagonals);
  }
  return choice;
}
