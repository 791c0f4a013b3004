/** The tensors of one attention problem as every backend's runtime takes and returns them. */
export interface AttentionTensors {
  /** [H, Q, D] */
  readonly q: Float32Array;
  /** [KVH, K, D] */
  readonly k: Float32Array;
  /** [KVH, K, D] */
  readonly v: Float32Array;
}

export interface AttentionResult {
  /** [H, Q, D] */
  readonly out: Float32Array;
  /** [H, Q], natural log; −∞ on rows that keep no key. */
  readonly lse: Float32Array;
}
