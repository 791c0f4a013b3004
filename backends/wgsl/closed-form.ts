import type { Bound, PreparedRegion } from "../../ir/regions/region.js";

/**
 * WGSL for the closed-form plan: from the query tile's first and last positions, each region's range of
 * key tiles and its range of full key tiles (the same formulas as passes/plan.ts, per region). Emits
 * `r{n}_lo`, `r{n}_hi` (touched key tiles, empty when lo > hi) and `r{n}_full_lo`, `r{n}_full_hi`.
 */
export function closedFormWgsl(regions: readonly PreparedRegion[], blockN: number, kvLen: number): string {
  return regions.map((region, n) => regionWgsl(region, n, blockN, kvLen)).join("\n");
}

function bound(b: Bound, q: string): string {
  if (b.slope === 0) return `${b.offset}`;
  return `(${b.slope} * ${q} + ${b.offset})`;
}

function maxOf(bounds: readonly Bound[], q: string): string {
  return bounds.map((b) => bound(b, q)).reduce((acc, x) => `max(${acc}, ${x})`);
}

function minOf(bounds: readonly Bound[], q: string): string {
  return bounds.map((b) => bound(b, q)).reduce((acc, x) => `min(${acc}, ${x})`);
}

function regionWgsl(region: PreparedRegion, n: number, blockN: number, kvLen: number): string {
  const rowLimits: string[] = [];
  for (const l of region.lower) {
    for (const u of region.upper) {
      const slope = u.slope - l.slope;
      const offset = u.offset - l.offset;
      if (slope === 0) {
        if (offset < 0) rowLimits.push("row_lo = row_hi + 1;");
      } else if (slope > 0) rowLimits.push(`row_lo = max(row_lo, ceil_div(${-offset}, ${slope}));`);
      else rowLimits.push(`row_hi = min(row_hi, floor_div(${offset}, ${-slope}));`);
    }
  }
  const lo = (q: string): string => maxOf(region.lower, q);
  const hi = (q: string): string => minOf(region.upper, q);
  const full = region.exact
    ? `
    if (row_lo == first && row_hi == last) {
      let max_lo = max(${lo("row_lo")}, ${lo("row_hi")});
      let min_hi = min(${hi("row_lo")}, ${hi("row_hi")});
      if (max_lo <= min_hi) {
        r${n}_full_lo = ceil_div(max_lo, ${blockN});
        r${n}_full_hi = select(floor_div(min_hi + 1, ${blockN}) - 1, ${Math.floor((kvLen - 1) / blockN)}, min_hi >= ${kvLen - 1});
      }
    }`
    : "";
  return `  // region ${n}
  var r${n}_lo = 1; var r${n}_hi = 0; var r${n}_full_lo = 1; var r${n}_full_hi = 0;
  {
    var row_lo = max(first, ${region.rowMin});
    var row_hi = min(last, ${region.rowMax});
    ${rowLimits.join("\n    ")}
    if (row_lo <= row_hi) {
      var min_lo = min(${lo("row_lo")}, ${lo("row_hi")});
      ${region.lowerCrossings.map((c) => `if (row_lo < ${c} && ${c} < row_hi) { min_lo = min(min_lo, ${lo(String(c))}); }`).join("\n      ")}
      var max_hi = max(${hi("row_lo")}, ${hi("row_hi")});
      ${region.upperCrossings.map((c) => `if (row_lo < ${c} && ${c} < row_hi) { max_hi = max(max_hi, ${hi(String(c))}); }`).join("\n      ")}
      r${n}_lo = floor_div(min_lo, ${blockN});
      r${n}_hi = floor_div(max_hi, ${blockN});${full}
    }
  }`;
}
