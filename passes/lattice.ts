import { compareInts, type Sizes } from "../ir/pattern/eval-int.js";
import type { BoolNode } from "../ir/pattern/nodes.js";
import { evalAffine, type SizeAffine } from "../ir/regions/region.js";
import { linear } from "./regions.js";

/**
 * Modular lines as arithmetic: the restrictions of a region, when they all test one value
 * `base = aq·q + ak·k` modulo one m (`(q - k) % d == 0`, `(k - phase) % stride == 0`, the two tests of a
 * ladder), become a table of admissible residues of `base`. With prefix sums over that table, "does this
 * range of base values hold an admissible one, and are they all admissible" is O(1), so the planner can
 * classify a tile exactly with O(rows) integer work instead of evaluating its pairs.
 */
export interface Lattice {
  readonly aq: number;
  readonly ak: number;
  readonly modulus: number;
  /** admissibleBefore[r] = admissible residues of `base` in [0, r). */
  readonly admissibleBefore: Int32Array;
}

/** Largest modulus tabled; beyond it the planner keeps the coarse (masked) form. */
export const maxLatticeModulus = 4096;

export function latticeOf(restrictions: readonly BoolNode[], sizes: Sizes): Lattice | undefined {
  let shape: { aq: number; ak: number; modulus: number } | undefined;
  let admissible: Uint8Array | undefined;
  for (const test of restrictions) {
    const parsed = modularTest(test);
    if (parsed === undefined) return undefined;
    const { aq, ak, modulus, keeps } = parsed;
    const c = evalAffine(parsed.c, sizes);
    if (shape === undefined) {
      shape = { aq, ak, modulus };
      admissible = new Uint8Array(modulus).fill(1);
    } else if (shape.aq !== aq || shape.ak !== ak || shape.modulus !== modulus) return undefined;
    // (base + c) mod m must pass the comparison: fold c into the table of base residues.
    for (let r = 0; r < modulus; r++) if (!keeps(mod(r + c, modulus))) admissible![r] = 0;
  }
  if (shape === undefined || admissible === undefined) return undefined;
  const admissibleBefore = new Int32Array(shape.modulus + 1);
  for (let r = 0; r < shape.modulus; r++) admissibleBefore[r + 1] = (admissibleBefore[r] ?? 0) + (admissible[r] ?? 0);
  return { ...shape, admissibleBefore };
}

/** Admissible values of `base` in [lo, hi] (0 when lo > hi). */
export function admissibleIn(lattice: Lattice, lo: number, hi: number): number {
  if (lo > hi) return 0;
  const m = lattice.modulus;
  const total = lattice.admissibleBefore[m] ?? 0;
  const upTo = (x: number): number => {
    // admissible values in [0, x) for any integer x (negative too), by whole periods plus a remainder.
    const periods = Math.floor(x / m);
    return periods * total + (lattice.admissibleBefore[x - periods * m] ?? 0);
  };
  return upTo(hi + 1) - upTo(lo);
}

/** `(aq·q + ak·k + c) % modulus` compared with a constant; `keeps` says which residues pass. */
export interface ModularTest {
  readonly aq: number;
  readonly ak: number;
  readonly c: SizeAffine;
  readonly modulus: number;
  readonly keeps: (residue: number) => boolean;
}

/** `(aq·q + ak·k + c) % m  op  constant` (either side), with |aq|, |ak| ≤ 1 and 1 ≤ m ≤ maxLatticeModulus. */
export function modularTest(test: BoolNode): ModularTest | undefined {
  if (test.kind !== "cmp") return undefined;
  const flipped = { "<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=" } as const;
  const [modNode, constant, op] = test.a.kind === "mod" && test.b.kind === "const"
    ? [test.a, test.b.value, test.op]
    : test.b.kind === "mod" && test.a.kind === "const" ? [test.b, test.a.value, flipped[test.op]] : [undefined, 0, test.op];
  if (modNode === undefined || modNode.kind !== "mod" || modNode.b.kind !== "const") return undefined;
  const modulus = modNode.b.value;
  const inner = linear(modNode.a);
  if (inner === undefined || modulus < 1 || modulus > maxLatticeModulus || Math.abs(inner.q) > 1 || Math.abs(inner.k) > 1) return undefined;
  return { aq: inner.q, ak: inner.k, c: inner.c, modulus, keeps: (residue) => compareInts(op, residue, constant) };
}

export function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
