import type { AttentionKernel, GatheredList } from "../../ir/kernel/kernel.js";
import { denseLineThresholds } from "../../ir/plan/tile-index.js";
import type { MaskPrinter } from "./predicate.js";

/**
 * The builders' density rule (ir/plan/tile-index.ts, DenseLines) for the lines a kernel gathers, as a
 * boolean over the tile's ranges `q` and `k` (the range helpers' `rng` and `index_members`, the same names
 * in every dialect); `false` when it gathers none.
 */
export function denseLinesTest(kernel: AttentionKernel, printer: MaskPrinter): string {
  const { columns, diagonals } = kernel.gathers ?? {};
  const thresholds = denseLineThresholds(kernel);
  const count = (list: GatheredList, range: string): string => `index_members(${printer.slot(list.input)}, ${printer.leafIndex(list.input, list.indices)}, ${range})`;
  const tests = [
    ...(columns === undefined ? [] : [`${count(columns, "k")} >= ${thresholds.columns}`]),
    ...(diagonals === undefined ? [] : [`${count(diagonals, "rng(q.x - k.y, q.y - k.x)")} >= ${thresholds.diagonals}`]),
  ];
  return tests.length === 0 ? "false" : tests.join(" || ");
}
