import * as P from "../ir/pattern/nodes.js";
import type { BoolNode } from "../ir/pattern/nodes.js";
import type { ColumnGather } from "../ir/kernel/kernel.js";
import { simplify } from "./simplify.js";

/**
 * Part of pass `lower` for dynamic kernels: finds a test `k in list[…]` (MInference's vertical columns)
 * that the mask only uses positively (under no `!` and not in an `if` condition), so the mask is monotone
 * in it. Then a key tile that the mask without the test keeps nothing of can only hold kept pairs on
 * listed keys: the tile index is built from the mask without the test, and the kernel gathers the listed
 * keys outside the visited tiles into tiles of their own. Scattered columns then cost one key each, not a
 * whole key tile each.
 */
export function columnGatherOf(mask: BoolNode): ColumnGather | undefined {
  const polarity = new Map<BoolNode, "positive" | "mixed">();
  const walk = (node: BoolNode, positive: boolean): void => {
    switch (node.kind) {
      case "and": case "or": walk(node.a, positive); walk(node.b, positive); return;
      case "not": walk(node.a, !positive); return;
      case "ite": walk(node.cond, false); walk(node.cond, true); walk(node.then, positive); walk(node.else, positive); return;
      case "inIndex":
        if (node.value.kind === "var" && node.value.name === "k") polarity.set(node, positive && polarity.get(node) !== "mixed" ? "positive" : "mixed");
        return;
      case "true": case "false": case "cmp": case "inBlocks": case "table":
        return;
    }
  };
  walk(mask, true);
  const test = [...polarity].find(([, p]) => p === "positive")?.[0];
  if (test?.kind !== "inIndex") return undefined;
  return { input: test.input, indices: test.indices, tileMask: simplify(without(mask, test)) };
}

/** The mask with one test replaced by `none`. */
function without(node: BoolNode, test: BoolNode): BoolNode {
  if (node === test) return P.FALSE;
  switch (node.kind) {
    case "and": return P.and(without(node.a, test), without(node.b, test));
    case "or": return P.or(without(node.a, test), without(node.b, test));
    case "not": return P.not(without(node.a, test));
    case "ite": return P.ite(without(node.cond, test), without(node.then, test), without(node.else, test));
    default: return node;
  }
}
