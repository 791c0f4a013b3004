import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Bitset } from "../ir/mask/bitset.js";
import { denseAttention, type Tensor3 } from "../ir/reference/dense-attention.js";

/** A second formulation, written differently on purpose: a full score matrix with −∞ where masked. */
function maskedSoftmaxAttention(q: Tensor3, k: Tensor3, v: Tensor3, masks: Bitset[], scale: number): { out: number[]; lse: number[] } {
  const [H, Q, D] = q.shape;
  const [KVH, K] = k.shape;
  const out: number[] = [];
  const lse: number[] = [];
  for (let h = 0; h < H; h++) {
    const group = H / KVH;
    const kvh = Math.floor(h / group);
    for (let i = 0; i < Q; i++) {
      const scores = Array.from({ length: K }, (_, key) => {
        if (!masks[h]?.get(i, key)) return -Infinity;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += (q.data[(h * Q + i) * D + d] ?? 0) * (k.data[(kvh * K + key) * D + d] ?? 0);
        return scale * dot;
      });
      const max = Math.max(...scores);
      const weights = scores.map((s) => (max === -Infinity ? 0 : Math.exp(s - max)));
      const total = weights.reduce((a, b) => a + b, 0);
      lse.push(max === -Infinity ? -Infinity : max + Math.log(total));
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let key = 0; key < K; key++) acc += total === 0 ? 0 : ((weights[key] ?? 0) / total) * (v.data[(kvh * K + key) * D + d] ?? 0);
        out.push(acc);
      }
    }
  }
  return { out, lse };
}

const problem = fc
  .record({
    group: fc.constantFrom(1, 2, 4),
    kvHeads: fc.integer({ min: 1, max: 2 }),
    qLen: fc.integer({ min: 1, max: 9 }),
    extraKeys: fc.integer({ min: 0, max: 9 }),
    dim: fc.constantFrom(1, 4, 8),
    magnitude: fc.constantFrom(0.1, 1, 30),
    seed: fc.integer(),
    density: fc.constantFrom(0, 0.2, 0.7, 1),
  })
  .map((p) => {
    const H = p.group * p.kvHeads, Q = p.qLen, K = p.qLen + p.extraKeys, D = p.dim;
    let state = p.seed >>> 0;
    const random = (): number => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    const tensor = (a: number, b: number): Tensor3 => ({ shape: [a, b, D], data: Float64Array.from({ length: a * b * D }, () => (random() * 2 - 1) * p.magnitude) });
    const masks = Array.from({ length: H }, () => {
      const bits = new Bitset(Q, K);
      for (let i = 0; i < Q; i++) for (let k = 0; k < K; k++) if (random() < p.density) bits.set(i, k);
      return bits;
    });
    return { q: tensor(H, Q), k: tensor(p.kvHeads, K), v: tensor(p.kvHeads, K), masks, scale: 1 / Math.sqrt(D) };
  });

describe("dense reference attention", () => {
  it("equals masked softmax with −∞ on random inputs, GQA ratios and masks", () => {
    fc.assert(
      fc.property(problem, ({ q, k, v, masks, scale }) => {
        const reference = denseAttention({ q, k, v, maskOf: (h) => masks[h] ?? new Bitset(0, 0) });
        const second = maskedSoftmaxAttention(q, k, v, masks, scale);
        second.out.forEach((x, at) => expect(reference.out[at]).toBeCloseTo(x, 10));
        second.lse.forEach((x, at) => (x === -Infinity ? expect(reference.lse[at]).toBe(-Infinity) : expect(reference.lse[at]).toBeCloseTo(x, 10)));
      }),
      { numRuns: 300 },
    );
  });

  it("gives 0 and lse −∞ for rows with no kept key, and never NaN", () => {
    fc.assert(
      fc.property(problem, ({ q, k, v, masks }) => {
        const { out, lse } = denseAttention({ q, k, v, maskOf: (h) => masks[h] ?? new Bitset(0, 0) });
        const [H, Q, D] = q.shape;
        for (let h = 0; h < H; h++) {
          for (let i = 0; i < Q; i++) {
            const empty = (masks[h]?.countRow(i) ?? 0) === 0;
            const row = Array.from(out.subarray((h * Q + i) * D, (h * Q + i + 1) * D));
            expect(row.every((x) => !Number.isNaN(x))).toBe(true);
            if (empty) {
              expect(row.every((x) => x === 0)).toBe(true);
              expect(lse[h * Q + i]).toBe(-Infinity);
            } else expect(Number.isFinite(lse[h * Q + i])).toBe(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("uses the stated scale and reads key/value head ⌊h · KVH / H⌋", () => {
    // One key per head group: the output must be that group's value exactly.
    const q: Tensor3 = { shape: [4, 1, 2], data: new Float64Array(8).fill(1) };
    const k: Tensor3 = { shape: [2, 1, 2], data: new Float64Array(4).fill(1) };
    const v: Tensor3 = { shape: [2, 1, 2], data: Float64Array.from([1, 2, 3, 4]) };
    const all = new Bitset(1, 1);
    all.set(0, 0);
    const { out, lse } = denseAttention({ q, k, v, maskOf: () => all, scale: 0.5 });
    expect(Array.from(out)).toEqual([1, 2, 1, 2, 3, 4, 3, 4]);
    expect(Array.from(lse)).toEqual([1, 1, 1, 1]); // 0.5 · (1·1 + 1·1) = 1, one key: lse = score
  });
});
