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
