import type { KernelRegion } from "../../ir/kernel/kernel.js";
import { constantOf, type SizeAffine, type SymbolicBound } from "../../ir/regions/region.js";

/**
 * WGSL for the closed-form plan: from the query tile's first and last positions and the launch's lengths,
 * each region's range of key tiles and of full key tiles (the formulas of passes/plan.ts, per region).
 * Emits `r{n}_lo`, `r{n}_hi` (touched key tiles; empty when lo > hi) and `r{n}_full_lo`, `r{n}_full_hi`.
 * Everything here depends only on the workgroup and the uniforms, so the loops over it stay uniform.
 */
export function closedFormWgsl(regions: readonly KernelRegion[], blockN: number): string {
  return regions.map((region, n) => regionWgsl(region, n, blockN)).join("\n");
}

/** An affine expression in the launch's lengths, as i32 WGSL. */
export function wgslAffine(a: SizeAffine): string {
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
  if (b.slope === 0) return wgslAffine(b.offset);
  const scaled = b.slope === 1 ? q : `${b.slope} * ${q}`;
  return constantOf(b.offset) === 0 ? scaled : `(${scaled} + ${wgslAffine(b.offset)})`;
}

function fold(bounds: readonly SymbolicBound[], q: string, op: "max" | "min"): string {
  return bounds.map((b) => bound(b, q)).reduce((acc, x) => `${op}(${acc}, ${x})`);
}

/** `slope · q + offset ≥ 0` narrows the row range. */
function rowLimit(slope: number, offset: SizeAffine): string {
  const constant = constantOf(offset);
  if (slope === 0 && constant !== undefined) return constant < 0 ? "row_lo = row_hi + 1; // never" : "";
  if (slope === 0) return `if (${wgslAffine(offset)} < 0) { row_lo = row_hi + 1; }`;
  if (slope > 0) return `row_lo = max(row_lo, ceil_div(${wgslAffine(difference({ c: 0, Q: 0, K: 0, H: 0, KVH: 0, L: 0 }, offset))}, ${slope}));`;
  return `row_hi = min(row_hi, floor_div(${wgslAffine(offset)}, ${-slope}));`;
}

/** Rows around the crossing of each pair of bounds with different slopes, where extremes can lie. */
function crossingChecks(bounds: readonly SymbolicBound[], variable: string, op: "max" | "min", fn: (q: string) => string): string[] {
  const checks: string[] = [];
  bounds.forEach((x, a) => {
    bounds.slice(a + 1).forEach((y) => {
      if (x.slope === y.slope) return;
      const c = `floor_div(${wgslAffine(difference(y.offset, x.offset))}, ${x.slope - y.slope})`;
      checks.push(`{ let c = ${c}; if (row_lo < c && c < row_hi) { ${variable} = ${op}(${variable}, ${fn("c")}); } if (row_lo < c + 1 && c + 1 < row_hi) { ${variable} = ${op}(${variable}, ${fn("(c + 1)")}); } }`);
    });
  });
  return checks;
}

function regionWgsl(region: KernelRegion, n: number, blockN: number): string {
  const limits = region.rows.map((r) => rowLimit(r.slope, r.offset));
  for (const l of region.lower) for (const u of region.upper) limits.push(rowLimit(u.slope - l.slope, difference(u.offset, l.offset)));
  const uniqueLimits = [...new Set(limits.filter((x) => x !== ""))];
  const lo = (q: string): string => fold(region.lower, q, "max");
  const hi = (q: string): string => fold(region.upper, q, "min");
  const full = region.exact
    ? `
      if (row_lo == first && row_hi == last) {
        let max_lo = max(${lo("row_lo")}, ${lo("row_hi")});
        let min_hi = min(${hi("row_lo")}, ${hi("row_hi")});
        if (max_lo <= min_hi) {
          r${n}_full_lo = ceil_div(max_lo, ${blockN});
          r${n}_full_hi = select(floor_div(min_hi + 1, ${blockN}) - 1, floor_div(K_LEN - 1, ${blockN}), min_hi >= K_LEN - 1);
        }
      }`
    : "";
  return `  // region ${n}
  var r${n}_lo = 1; var r${n}_hi = 0; var r${n}_full_lo = 1; var r${n}_full_hi = 0;
  {
    var row_lo = first;
    var row_hi = last;
    ${uniqueLimits.join("\n    ")}
    if (row_lo <= row_hi) {
      var min_lo = min(${lo("row_lo")}, ${lo("row_hi")});
      ${crossingChecks(region.lower, "min_lo", "min", lo).join("\n      ")}
      var max_hi = max(${hi("row_lo")}, ${hi("row_hi")});
      ${crossingChecks(region.upper, "max_hi", "max", hi).join("\n      ")}
      r${n}_lo = floor_div(min_lo, ${blockN});
      r${n}_hi = floor_div(max_hi, ${blockN});${full}
    }
  }`;
}
