/**
 * Estimators: kernels that choose a dynamic pattern's runtime inputs from q and k on the device, before the
 * index builder and the attention kernel run (estimate → build → attend). Each names the pattern inputs it
 * writes. The TS references beside this file define what each selects; the device kernels must agree.
 *
 * Ties in every top-n selection go to the lower index (column, offset or key block): a documented rule, so
 * the device and the reference select the same sets on the same scores.
 */
export type Estimator = VerticalSlashEstimator | BlockTopKEstimator | XAttentionEstimator;

/**
 * MInference's vertical-slash estimation, per query head: softmax attention of the last `lastQ` queries
 * over all (causal) keys; column sums score the keys, sums along each diagonal q − k = o score the offsets;
 * keep the top `verticalSize` columns and the top `slashSize` offsets, always including columns
 * 0 … firstColumns − 1 and offsets 0 … nearDiagonals − 1 (sinks and the local band).
 */
export interface VerticalSlashEstimator {
  readonly kind: "verticalSlash";
  /** The pattern's index inputs it writes: key columns and diagonal offsets, one list per head. */
  readonly vertical: string;
  readonly slash: string;
  readonly lastQ: number;
  readonly verticalSize: number;
  readonly slashSize: number;
  readonly firstColumns: number;
  readonly nearDiagonals: number;
}

/**
 * MInference's block selection, per query head: mean-pool q over blocks of `block` query rows and k over
 * blocks of `block` keys; score each (query block, key block) pair by the pooled dot product; keep the top
 * `topK` causal key blocks of each query block (a key block is causal when it starts at or before the
 * query block's last position), always including the block that holds the diagonal.
 */
export interface BlockTopKEstimator {
  readonly kind: "blockTopK";
  /** The pattern's block-set input it writes, [H] of ⌈Q/block⌉ × ⌈K/block⌉. */
  readonly blocks: string;
  readonly block: number;
  readonly topK: number;
}

/**
 * XAttention's block selection, per query head. Cells of `stride` × `stride` over (query row i, key k); a
 * cell's score is the sum of q·k along its anti-diagonal (row aS + S − 1 − s with key bS + s), causal pairs
 * only, times scale / S. Per cell row, a softmax over its cells that hold a causal pair; the probabilities
 * summed over the cells of each `block` × `block` block give the block's mass. Per query block, the first
 * key block and the blocks holding a row's diagonal are kept; then the other causal blocks, heaviest first
 * (ties: lower index), until the kept mass reaches `threshold` of the query block's total. `stride` divides
 * `block`, so cells nest in blocks.
 */
export interface XAttentionEstimator {
  readonly kind: "xattention";
  /** The pattern's block-set input it writes, [H] of ⌈Q/block⌉ × ⌈K/block⌉. */
  readonly blocks: string;
  readonly block: number;
  readonly stride: number;
  /** A fraction in (0, 1]. */
  readonly threshold: number;
}

/** MInference's defaults (its smallest budgets are 30 columns and 50 offsets; 30 sink columns, 100 band offsets). */
export const verticalSlashDefaults = { lastQ: 64, verticalSize: 1000, slashSize: 6096, firstColumns: 30, nearDiagonals: 100 } as const;
export const blockTopKDefaults = { block: 64, topK: 100 } as const;
/** XAttention's: stride 8 (16 also common), threshold 0.9 (0.8–0.95 in the paper); its block is 128. */
export const xattentionDefaults = { block: 128, stride: 8, threshold: 0.9 } as const;

/** One line, as the CLI prints it. */
export function printEstimator(estimator: Estimator): string {
  switch (estimator.kind) {
    case "verticalSlash":
      return `vertical_slash(${estimator.vertical}, ${estimator.slash}; last_q ${estimator.lastQ}, vertical_size ${estimator.verticalSize}, slash_size ${estimator.slashSize}, first_columns ${estimator.firstColumns}, near_diagonals ${estimator.nearDiagonals})`;
    case "blockTopK":
      return `block_top_k(${estimator.blocks}; block ${estimator.block}, top_k ${estimator.topK})`;
    case "xattention":
      return `xattention(${estimator.blocks}; block ${estimator.block}, stride ${estimator.stride}, threshold ${estimator.threshold})`;
  }
}
