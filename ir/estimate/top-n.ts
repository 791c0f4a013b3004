/**
 * The indices of the `n` largest scores, ascending; ties go to the lower index. `+Infinity` marks entries
 * that must be kept. The rule every estimator and its device kernel share.
 */
export function topIndices(scores: ArrayLike<number>, n: number): number[] {
  const order = Array.from({ length: scores.length }, (_, at) => at);
  order.sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0) || a - b);
  return order.slice(0, Math.max(0, n)).sort((a, b) => a - b);
}
