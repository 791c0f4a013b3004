import type { Bitset } from "../mask/bitset.js";

/** A row-major tensor of rank 3, e.g. q [H, Q, D] or k, v [KVH, K, D]. */
export interface Tensor3 {
  readonly shape: readonly [number, number, number];
  readonly data: Float64Array | Float32Array;
}

export interface ReferenceInputs {
  readonly q: Tensor3;
  readonly k: Tensor3;
  readonly v: Tensor3;
  /** The kept set of query head h (Q rows × K keys). */
  readonly maskOf: (head: number) => Bitset;
  /** Defaults to 1/√D. */
  readonly scale?: number;
}

export interface ReferenceOutputs {
  /** [H, Q, D]. */
  readonly out: Float64Array;
  /** [H, Q], natural log; −∞ for rows that keep no key. */
  readonly lse: Float64Array;
}

/**
 * The dense reference attention in Float64: out[h, i] = softmax(scale · q[h, i] · k[kvh]ᵀ over kept keys) ·
 * v[kvh], with query head h reading key/value head ⌊h · KVH / H⌋. A row with no kept key gives output 0 and
 * log-sum-exp −∞, never NaN. Every kernel is judged against this.
 */
export function denseAttention(inputs: ReferenceInputs): ReferenceOutputs {
  const [H, Q, D] = inputs.q.shape;
  const [KVH, K, kD] = inputs.k.shape;
  const [vH, vK, vD] = inputs.v.shape;
  if (kD !== D || vD !== D || vH !== KVH || vK !== K || H % KVH !== 0) {
    throw new Error(`shapes do not fit: q [${inputs.q.shape.join(", ")}], k [${inputs.k.shape.join(", ")}], v [${inputs.v.shape.join(", ")}]`);
  }
  const scale = inputs.scale ?? 1 / Math.sqrt(D);
  const out = new Float64Array(H * Q * D);
  const lse = new Float64Array(H * Q);
  const scores = new Float64Array(K);
  const kept = new Int32Array(K);
  for (let h = 0; h < H; h++) {
    const mask = inputs.maskOf(h);
    const kvh = Math.floor((h * KVH) / H);
    for (let i = 0; i < Q; i++) {
      const qBase = (h * Q + i) * D;
      let count = 0;
      let max = -Infinity;
      for (let key = 0; key < K; key++) {
        if (!mask.get(i, key)) continue;
        const kBase = (kvh * K + key) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += (inputs.q.data[qBase + d] ?? 0) * (inputs.k.data[kBase + d] ?? 0);
        const score = dot * scale;
        scores[count] = score;
        kept[count] = key;
        count++;
        if (score > max) max = score;
      }
      if (count === 0) {
        lse[h * Q + i] = -Infinity;
        continue; // out stays 0
      }
      let sum = 0;
      for (let n = 0; n < count; n++) {
        const weight = Math.exp((scores[n] ?? 0) - max);
        scores[n] = weight;
        sum += weight;
      }
      lse[h * Q + i] = max + Math.log(sum);
      for (let n = 0; n < count; n++) {
        const weight = (scores[n] ?? 0) / sum;
        const vBase = (kvh * K + (kept[n] ?? 0)) * D;
        for (let d = 0; d < D; d++) out[qBase + d] = (out[qBase + d] ?? 0) + weight * (inputs.v.data[vBase + d] ?? 0);
      }
    }
  }
  return { out, lse };
}
