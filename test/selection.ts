import { expect } from "vitest";

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
