import { consecutiveRows, type KernelRegion, type ResidueRun, type RowGroups } from "../ir/kernel/kernel.js";
import type { BoolNode } from "../ir/pattern/nodes.js";
import { addAffine, affine, constantOf, scaleAffine, type SymbolicRegion, type SymbolicRegionForm } from "../ir/regions/region.js";
import { mod, modularTest, type ModularTest } from "./lattice.js";

/**
 * Part of `lower`: the kernel's regions, with modular restrictions turned into iteration where that pays.
 * - A test on the row alone (`(q - phase) % stride == 0`, grid's horizontal lines) becomes a row test. Rows
 *   are grouped by position modulo the tests' moduli, so the test holds for a whole workgroup or for none of
 *   it, and the region is skipped where it does not.
 * - One region whose remaining restrictions are tests of one value `aq·q ± k` modulo m that keep a run of
 *   residues (dilated's `(q - k) % d == 0`, grid's vertical lines, ladder's slices) walks a key lattice: it
 *   visits tiles of lattice keys only, gathered from K and V, and they need no mask away from the region's
 *   edges. When aq ≠ 0 the rows are grouped modulo m as well, so the lattice's shift is the workgroup's.
 * Everything else stays a masked restriction, as before: correct, and as fast as the tiles allow.
 */
export interface LoweredRegions {
  readonly regions: readonly KernelRegion[];
  readonly rowGroups: RowGroups;
}

/** Lattices keeping more than this share of the keys gain little from gathering; they stay masked tiles. */
const maxLatticeDensity = 1 / 2;
/** Row groups are found by listing residues up to this modulus; past it, row tests stay masked. */
const maxRowModulus = 4096;
/** Each group has its own workgroups, so short queries spread thin past this many. */
const maxRowGroups = 256;

interface Classified {
  readonly region: SymbolicRegion;
  readonly rowTests: readonly ResidueRun[];
  /** The key lattice the region could walk, when its remaining restrictions are exactly one. */
  readonly lattice?: { readonly run: ResidueRun; readonly tests: readonly BoolNode[] };
  /** Restrictions that stay tests on pairs (masked tiles). */
  readonly others: readonly BoolNode[];
}

export function lowerRegions(form: SymbolicRegionForm): LoweredRegions {
  const classified = form.regions.map(classify);
  const rowTests = classified.flatMap((c) => c.rowTests);
  const testGroups = rowGroupsFor(rowTests, false);
  const keepRowTests = testGroups !== undefined;
  // One lattice region per kernel (the sparsest), so lattice visits only ever overlap plain tiles.
  let chosen: number | undefined;
  let rowGroups = testGroups ?? consecutiveRows;
  classified.forEach((c, at) => {
    const run = c.lattice?.run;
    if (run === undefined || c.others.length > 0 || c.region.runtime.length > 0 || run.width > run.modulus * maxLatticeDensity) return;
    const groups = run.slope === 0 ? rowGroups : rowGroupsFor([...(keepRowTests ? rowTests : []), { modulus: run.modulus, width: 1, slope: 0, offset: affine(0) }], true);
    if (groups === undefined) return;
    const best = chosen === undefined ? undefined : classified[chosen]?.lattice?.run;
    if (best === undefined || run.width / run.modulus < best.width / best.modulus) {
      chosen = at;
      rowGroups = groups;
    }
  });
  const regions = classified.map((c, at): KernelRegion => {
    const lattice = at === chosen ? c.lattice?.run : undefined;
    const masked = [...c.others, ...(lattice === undefined ? (c.lattice?.tests ?? []) : []), ...(keepRowTests ? [] : c.region.restrictions.filter(isRowTest))];
    return {
      lower: [{ slope: 0, offset: affine(0) }, ...c.region.lower],
      upper: [{ slope: 0, offset: { ...affine(-1), K: 1 } }, ...c.region.upper],
      rows: c.region.rows,
      rowTests: keepRowTests ? c.rowTests : [],
      keys: lattice === undefined ? { kind: "tiles" } : { kind: "lattice", lattice },
      exact: masked.length === 0 && c.region.runtime.length === 0,
    };
  });
  return { regions, rowGroups };
}

/**
 * Groups of rows on which every test is constant: residues of q modulo the tests' common modulus, cut
 * wherever a test changes (grid: the residue on the line, and the run of all others). `singletons` cuts at
 * every residue (a lattice whose shift follows q). Undefined when a test's offset depends on the lengths
 * (its cut would move with them) or the grouping grows past the limits.
 */
function rowGroupsFor(tests: readonly ResidueRun[], singletons: boolean): RowGroups | undefined {
  if (tests.length === 0) return consecutiveRows;
  const offsets = tests.map((t) => constantOf(t.offset));
  const modulus = tests.reduce((m, t) => lcm(m, t.modulus), 1);
  if (modulus > maxRowModulus || offsets.some((o) => o === undefined)) return undefined;
  const signature = (r: number): string => tests.map((t, at) => (mod(t.slope * r + (offsets[at] ?? 0), t.modulus) < t.width ? "1" : "0")).join("");
  const cuts = Array.from({ length: modulus }, (_, r) => r).filter((r) => singletons || signature(r) !== signature(mod(r - 1, modulus)));
  if (cuts.length > maxRowGroups) return undefined;
  if (cuts.length === 0) return consecutiveRows;
  const runs = cuts.map((start, at) => ({ start, width: (cuts[at + 1] ?? (cuts[0] ?? 0) + modulus) - start }));
  return { modulus, runs };
}

function isRowTest(test: BoolNode): boolean {
  const parsed = modularTest(test);
  return parsed !== undefined && parsed.ak === 0 && parsed.aq !== 0;
}

function classify(region: SymbolicRegion): Classified {
  const rowTests: ResidueRun[] = [];
  const keyTests: { test: BoolNode; parsed: ModularTest }[] = [];
  const others: BoolNode[] = [];
  for (const test of region.restrictions) {
    const parsed = modularTest(test);
    const run = parsed !== undefined && parsed.ak === 0 && parsed.aq !== 0 ? residueRun([parsed]) : undefined;
    if (parsed !== undefined && run !== undefined) rowTests.push({ modulus: run.modulus, width: run.width, slope: parsed.aq, offset: addAffine(parsed.c, affine(-run.start)) });
    else if (parsed !== undefined && parsed.ak !== 0) keyTests.push({ test, parsed });
    else others.push(test);
  }
  const lattice = keyTests.length > 0 ? keyLattice(keyTests.map((t) => t.parsed)) : undefined;
  if (lattice === undefined) return { region, rowTests, others: [...others, ...keyTests.map((t) => t.test)] };
  return { region, rowTests, others, lattice: { run: lattice, tests: keyTests.map((t) => t.test) } };
}

/**
 * Tests of one value e = aq·q + ak·k + c (up to constant differences in c) that keep the residues
 * [start, start + width) of e mod m, cyclically; undefined for anything else.
 */
function residueRun(tests: readonly ModularTest[]): { modulus: number; width: number; start: number } | undefined {
  const [first] = tests;
  if (first === undefined) return undefined;
  const m = first.modulus;
  const shifts: number[] = [];
  for (const t of tests) {
    const shift = constantOf(addAffine(t.c, scaleAffine(first.c, -1)));
    if (t.modulus !== m || t.aq !== first.aq || t.ak !== first.ak || shift === undefined) return undefined;
    shifts.push(shift);
  }
  const keeps = Array.from({ length: m }, (_, x) => tests.every((t, at) => t.keeps(mod(x + (shifts[at] ?? 0), m))));
  const width = keeps.filter(Boolean).length;
  if (width === 0 || width === m) return undefined;
  const start = keeps.findIndex((kept, x) => kept && !keeps[mod(x - 1, m)]);
  for (let i = 0; i < width; i++) if (!keeps[mod(start + i, m)]) return undefined;
  return { modulus: m, width, start };
}

/**
 * Key tests as a lattice of keys: e = aq·q + ak·k + c kept for e mod m in [s, s + w) means, for ak = 1,
 * (k − (s − aq·q − c)) mod m < w, and for ak = −1, (k − (aq·q + c − s − w + 1)) mod m < w.
 */
function keyLattice(tests: readonly ModularTest[]): ResidueRun | undefined {
  const run = residueRun(tests);
  const first = tests[0];
  if (run === undefined || first === undefined || Math.abs(first.ak) !== 1) return undefined;
  const { modulus, width, start } = run;
  if (first.ak === 1) return { modulus, width, slope: -first.aq, offset: addAffine(affine(start), scaleAffine(first.c, -1)) };
  return { modulus, width, slope: first.aq, offset: addAffine(first.c, affine(-start - width + 1)) };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

