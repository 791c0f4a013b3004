import type { Sizes } from "./eval-int.js";
import type { InputRef } from "./nodes.js";
import type { PatternDef } from "./pattern.js";

/** A pattern with every parameter, size and runtime input fixed: what the mask evaluator and kernels run. */
export interface Binding {
  readonly pattern: PatternDef;
  readonly params: ReadonlyMap<string, number>;
  readonly sizes: Sizes;
  readonly inputs: ReadonlyMap<string, BoundInput>;
}

/** One runtime input for one head/layer selection, checked and laid out for fast membership tests. */
export type InputLeaf =
  | { readonly kind: "index"; readonly members: Uint8Array; readonly values: Int32Array }
  | { readonly kind: "blocks"; readonly rows: number; readonly cols: number; readonly bits: Uint8Array }
  | { readonly kind: "ids"; readonly ids: Float64Array }
  | { readonly kind: "bool"; readonly value: boolean };

/** A runtime input with every leaf, row-major over its axes (ids have one leaf: the whole array). */
export interface BoundInput {
  readonly ref: InputRef;
  readonly extents: readonly number[];
  readonly leaves: readonly InputLeaf[];
}

/** The leaf of `input` selected by head/layer variable values (h, kvh, l). */
export function leafAt(input: BoundInput, select: Readonly<Record<"h" | "kvh" | "l", number>>): InputLeaf {
  let offset = 0;
  input.ref.dims.forEach((axis, at) => {
    if (axis === "K") return;
    const index = axis === "H" ? select.h : axis === "KVH" ? select.kvh : select.l;
    offset = offset * (input.extents[at] ?? 1) + index;
  });
  const leaf = input.leaves[offset];
  if (leaf === undefined) throw new Error(`input ${input.ref.name}: no leaf at ${offset}`);
  return leaf;
}

/** The key/value head a query head reads under grouped-query attention. */
export function kvHeadOf(head: number, sizes: Sizes): number {
  return Math.floor((head * sizes.KVH) / sizes.H);
}
