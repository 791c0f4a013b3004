import fc from "fast-check";
import { expect } from "vitest";
import { randomTensor } from "./helpers.js";

/**
 * Selected sets agree, but for indices whose score is within 1e-5 of the last kept one and not equal to it
 * (rounding may order those either way); exact ties must follow the rule (lower index first).
 */
export function expectSameSelection(device: readonly number[], reference: readonly number[], scores: ArrayLike<number>, what: string): void {
  const kept = new Set(reference);
  const threshold = Math.min(...reference.map((at) => scores[at] ?? 0));
  const nearTie = (at: number): boolean => {
    const gap = Math.abs((scores[at] ?? 0) - threshold);
    return gap > 0 && gap <= 1e-5 * Math.abs(threshold);
  };
  expect(device.length, `${what}: count`).toBe(reference.length);
  for (const at of device) if (!kept.has(at)) expect(nearTie(at), `${what}: device chose ${at}, reference did not (score ${scores[at]}, threshold ${threshold})`).toBe(true);
}

/**
 * Where the device's f32 sums cut differently from the reference's f64 ones, its choice must still be a
 * threshold cut of the reference masses up to rounding: forced blocks in, non-causal out, the kept mass
 * reaches the threshold, dropping the lightest chosen block would not, and no unchosen block is heavier
 * than a chosen one.
 */
export function expectThresholdCut(chosen: readonly number[], masses: Float64Array, scores: ArrayLike<number>, threshold: number, what: string): void {
  const slack = 1e-4;
  const total = masses.reduce((sum, m) => sum + m, 0);
  let kept = 0;
  const taken: number[] = [], left: number[] = [];
  chosen.forEach((bit, c) => {
    const score = scores[c] ?? 0;
    if (score === Infinity) expect(bit, `${what}: forced block ${c}`).toBe(1);
    if (score === -Infinity) expect(bit, `${what}: non-causal block ${c}`).toBe(0);
    if (bit === 1) kept += masses[c] ?? 0;
    if (score !== Infinity && score !== -Infinity) (bit === 1 ? taken : left).push(masses[c] ?? 0);
  });
  if (left.length > 0) expect(kept, `${what}: kept mass`).toBeGreaterThanOrEqual(threshold * total * (1 - slack));
  if (taken.length > 0) expect(kept - Math.min(...taken), `${what}: minimal`).toBeLessThan(threshold * total * (1 + slack));
  if (taken.length > 0 && left.length > 0) expect(Math.min(...taken), `${what}: heaviest first`).toBeGreaterThanOrEqual(Math.max(...left) * (1 - slack) - 1e-9);
}

/** order_key in TS: f32 → u32 with the same order, −0 as +0 (−∞ is 0x007fffff, +∞ 0xff800000). */
export function orderKey(x: number): number {
  const bits = new Uint32Array(Float32Array.of(x === 0 ? 0 : x).buffer)[0] ?? 0;
  return (bits & 0x80000000) !== 0 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

/** The float an order key stands for (the inverse of order_key; −0 came in as +0). */
export function fromOrderKey(key: number): number {
  const bits = new Uint32Array([(key & 0x80000000) !== 0 ? key & 0x7fffffff : ~key >>> 0]);
  return new Float32Array(bits.buffer)[0] ?? NaN;
}

const negInfKey = 0x007fffff;

/** A top-n selection for a device kernel alone: order keys [head][problem][count], n, optional per-problem limits. */
export interface SelectionCase {
  readonly heads: number;
  readonly problems: number;
  readonly count: number;
  readonly keys: Uint32Array;
  readonly n: number;
  readonly limits: Uint32Array | undefined;
}

/**
 * Selection cases for both backends' selection kernels: rows up to `rankLimit` keys (ranked) and longer
 * (the byte rounds); few distinct values (ties), some −∞ (never chosen) and +∞ (forced) keys, values across
 * the f32 range and of both signs (every byte of a key varies); n from 0 past the count; limits or none.
 */
export function selectionCases(rankLimit: number): fc.Arbitrary<SelectionCase> {
  return fc.record({
    heads: fc.integer({ min: 1, max: 2 }), problems: fc.integer({ min: 1, max: 3 }),
    count: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: rankLimit + 1, max: rankLimit + 1500 })),
    distinct: fc.integer({ min: 1, max: 3000 }), negative: fc.constantFrom(0, 0.05, 0.5), positive: fc.constantFrom(0, 0.02), magnitude: fc.constantFrom(1e-3, 1, 1e30),
    nDrawn: fc.integer({ min: 0, max: 3100 }), withLimits: fc.boolean(), seed: fc.integer(),
  }).map(({ heads, problems, count, distinct, negative, positive, magnitude, nDrawn, withLimits, seed }) => {
    const pool = randomTensor(distinct, seed, magnitude), picks = randomTensor(heads * problems * count * 2, seed + 1, 0.5);
    const keys = Uint32Array.from({ length: heads * problems * count }, (_, at) => {
      const kind = (picks[2 * at] ?? 0) + 0.5, pick = (picks[2 * at + 1] ?? 0) + 0.5;
      if (kind < negative) return negInfKey;
      if (kind < negative + positive) return orderKey(Infinity);
      return orderKey(pool[Math.min(distinct - 1, Math.floor(pick * distinct))] ?? 0);
    });
    const limits = withLimits ? Uint32Array.from({ length: heads * problems }, (_, at) => Math.floor(((picks[at] ?? 0) + 0.5) * (count + 2))) : undefined;
    return { heads, problems, count, keys, n: nDrawn % (count + 3), limits };
  });
}

/**
 * A packed input with one slot for a selection kernel to write (slot 0): its directory entry (leaves at
 * word 4, ⌈problems · count / 32⌉ words a head), then the heads' leaves, zeroed. The bits start at word 4.
 */
export function onePackedInput(c: SelectionCase): Uint32Array {
  const words = Math.ceil((c.problems * c.count) / 32);
  const aux = new Uint32Array(4 + words * c.heads);
  aux[0] = 4;
  aux[1] = words;
  return aux;
}

/**
 * Checks a selection kernel's bits ([head][problem · count + at], words a head as in a packed input's leaves)
 * against the rule: per problem, the min(n, limit) largest keys above −∞, ties to the lower index.
 */
export function expectSelected(bits: Uint32Array, c: SelectionCase): void {
  const { heads, problems, count, keys, n, limits } = c;
  const words = Math.ceil((problems * count) / 32);
  for (let h = 0; h < heads; h++) {
    for (let p = 0; p < problems; p++) {
      const base = (h * problems + p) * count;
      const order = Array.from({ length: count }, (_, at) => at).filter((at) => keys[base + at] !== negInfKey);
      order.sort((a, b) => (keys[base + b] ?? 0) - (keys[base + a] ?? 0) || a - b);
      const expected = order.slice(0, Math.min(n, limits?.[h * problems + p] ?? n)).sort((a, b) => a - b);
      const chosen = Array.from({ length: count }, (_, at) => at).filter((at) => {
        const bit = p * count + at;
        return (((bits[h * words + (bit >>> 5)] ?? 0) >>> (bit & 31)) & 1) === 1;
      });
      expect(chosen, `head ${h} problem ${p}: ${count} keys, n ${n}, limit ${limits?.[h * problems + p]}`).toEqual(expected);
    }
  }
}
