import type { KernelRegion, ResidueRun } from "../../ir/kernel/kernel.js";
import { constantOf, type SizeAffine, type SymbolicBound } from "../../ir/regions/region.js";
import type { Dialect } from "./dialect.js";

/**
 * The closed-form plan in WGSL or CUDA: from the query tile's first and last positions and the launch's lengths,
 * each region's range of key tiles and of full key tiles (the formulas of passes/plan.ts, per region).
 * Emits `r{n}_lo`, `r{n}_hi` (touched key tiles; empty when lo > hi) and `r{n}_full_lo`, `r{n}_full_hi`;
 * for the lattice region these count tiles of lattice keys, and `r{n}_o` is the lattice's offset.
 * Everything here depends only on the workgroup and the uniforms, so the loops over it stay uniform.
 */
export function closedFormCode(regions: readonly KernelRegion[], blockN: number, dialect: Dialect): string {
  return regions.map((region, n) => regionCode(region, n, blockN, dialect)).join("\n");
}

/** An affine expression in the launch's lengths, as a 32-bit integer expression. */
export function affineCode(a: SizeAffine): string {
  const terms: string[] = [];
  const size = { Q: "Q_LEN", K: "K_LEN", H: "HEADS", KVH: "KV_HEADS", L: "LAYERS" } as const;
  for (const key of ["Q", "K", "H", "KVH", "L"] as const) {
    if (a[key] !== 0) terms.push(a[key] === 1 ? size[key] : `${a[key]} * ${size[key]}`);
  }
  if (a.c !== 0 || terms.length === 0) terms.push(a.c < 0 ? `(${a.c})` : String(a.c));
  return terms.length === 1 ? (terms[0] ?? "0") : `(${terms.join(" + ")})`;
}

function difference(a: SizeAffine, b: SizeAffine): SizeAffine {
  return { c: a.c - b.c, Q: a.Q - b.Q, K: a.K - b.K, H: a.H - b.H, KVH: a.KVH - b.KVH, L: a.L - b.L };
}

function bound(b: SymbolicBound, q: string): string {
  if (b.slope === 0) return affineCode(b.offset);
  const scaled = b.slope === 1 ? q : `${b.slope} * ${q}`;
  return constantOf(b.offset) === 0 ? scaled : `(${scaled} + ${affineCode(b.offset)})`;
}

function fold(bounds: readonly SymbolicBound[], q: string, op: "max" | "min"): string {
  return bounds.map((b) => bound(b, q)).reduce((acc, x) => `${op}(${acc}, ${x})`);
}

/** `slope · q + offset ≥ 0` narrows the row range. */
function rowLimit(slope: number, offset: SizeAffine): string {
  const constant = constantOf(offset);
  if (slope === 0 && constant !== undefined) return constant < 0 ? "row_lo = row_hi + 1; // never" : "";
  if (slope === 0) return `if (${affineCode(offset)} < 0) { row_lo = row_hi + 1; }`;
  if (slope > 0) return `row_lo = max(row_lo, ceil_div(${affineCode(difference({ c: 0, Q: 0, K: 0, H: 0, KVH: 0, L: 0 }, offset))}, ${slope}));`;
  return `row_hi = min(row_hi, floor_div(${affineCode(offset)}, ${-slope}));`;
}

/** Rows around the crossing of each pair of bounds with different slopes, where extremes can lie. */
function crossingChecks(bounds: readonly SymbolicBound[], variable: string, op: "max" | "min", fn: (q: string) => string, dialect: Dialect): string[] {
  const checks: string[] = [];
  bounds.forEach((x, a) => {
    bounds.slice(a + 1).forEach((y) => {
      if (x.slope === y.slope) return;
      const c = `floor_div(${affineCode(difference(y.offset, x.offset))}, ${x.slope - y.slope})`;
      checks.push(`{ ${dialect.let("c", c)} if (row_lo < c && c < row_hi) { ${variable} = ${op}(${variable}, ${fn("c")}); } if (row_lo < c + 1 && c + 1 < row_hi) { ${variable} = ${op}(${variable}, ${fn("(c + 1)")}); } }`);
    });
  });
  return checks;
}

/** Rows of a workgroup agree modulo the kernel's row modulus, so a row test on the first decides for all. */
function rowTest(test: ResidueRun): string {
  const value = bound({ slope: test.slope, offset: test.offset }, "first");
  return `if (floor_mod(${value}, ${test.modulus}) >= ${test.width}) { row_lo = row_hi + 1; }`;
}

function regionCode(region: KernelRegion, n: number, blockN: number, dialect: Dialect): string {
  const { let: constant, var: mutable } = dialect;
  const limits = [...region.rowTests.map(rowTest), ...region.rows.map((r) => rowLimit(r.slope, r.offset))];
  for (const l of region.lower) for (const u of region.upper) limits.push(rowLimit(u.slope - l.slope, difference(u.offset, l.offset)));
  const uniqueLimits = [...new Set(limits.filter((x) => x !== ""))];
  const lo = (q: string): string => fold(region.lower, q, "max");
  const hi = (q: string): string => fold(region.upper, q, "min");
  const lattice = region.keys.kind === "lattice" ? region.keys.lattice : undefined;
  // Touched and full tiles: key tiles, or tiles of lattice indices (keys mapped by lattice_index).
  const range = lattice === undefined
    ? { lo: `floor_div(min_lo, ${blockN})`, hi: `floor_div(max_hi, ${blockN})`, fullLo: `ceil_div(max_lo, ${blockN})`,
        fullHi: dialect.select(`floor_div(min_hi + 1, ${blockN}) - 1`, `floor_div(K_LEN - 1, ${blockN})`, "min_hi >= K_LEN - 1") }
    : { lo: `lattice_index(min_lo, r${n}_o) / ${blockN}`, hi: `floor_div(lattice_index(max_hi + 1, r${n}_o) - 1, ${blockN})`,
        fullLo: `ceil_div(lattice_index(max_lo, r${n}_o), ${blockN})`, fullHi: `lattice_index(min_hi + 1, r${n}_o) / ${blockN} - 1` };
  const full = region.exact
    ? `
      if (row_lo == first && row_hi == last) {
        ${constant("max_lo", `max(${lo("row_lo")}, ${lo("row_hi")})`)}
        ${constant("min_hi", `min(${hi("row_lo")}, ${hi("row_hi")})`)}
        if (max_lo <= min_hi) {
          r${n}_full_lo = ${range.fullLo};
          r${n}_full_hi = ${range.fullHi};
        }
      }`
    : "";
  const shift = lattice === undefined ? "" : `
  // The lattice's keys for this workgroup: (k - r${n}_o) mod ${lattice.modulus} < ${lattice.width}.
  ${constant(`r${n}_o`, `floor_mod(${bound({ slope: lattice.slope, offset: lattice.offset }, "first")}, ${lattice.modulus})`)}`;
  return `  // region ${n}${lattice === undefined ? "" : ", on the key lattice"}${shift}
  ${mutable(`r${n}_lo`, "1")} ${mutable(`r${n}_hi`, "0")} ${mutable(`r${n}_full_lo`, "1")} ${mutable(`r${n}_full_hi`, "0")}
  {
    ${mutable("row_lo", "first")}
    ${mutable("row_hi", "last")}
    ${uniqueLimits.join("\n    ")}
    if (row_lo <= row_hi) {
      ${mutable("min_lo", `min(${lo("row_lo")}, ${lo("row_hi")})`)}
      ${crossingChecks(region.lower, "min_lo", "min", lo, dialect).join("\n      ")}
      ${mutable("max_hi", `max(${hi("row_lo")}, ${hi("row_hi")})`)}
      ${crossingChecks(region.upper, "max_hi", "max", hi, dialect).join("\n      ")}
      r${n}_lo = ${range.lo};
      r${n}_hi = ${range.hi};${full}
    }
  }`;
}
