import * as P from "../ir/pattern/nodes.js";
import type { BoolNode } from "../ir/pattern/nodes.js";
import type { GatheredList, KeyGathers } from "../ir/kernel/kernel.js";
import { simplify } from "./simplify.js";

/**
 * Part of pass `lower` for dynamic kernels: finds the tests `k in list[…]` (MInference's vertical columns)
 * and `q - k in list[…]` (its slash lines) that the mask only uses positively (under no `!` and not in an
 * `if` condition), so the mask is monotone in them. A key tile that the mask without those tests keeps
 * nothing of can then only hold kept pairs on listed columns or diagonals: the tile index is built from the
 * mask without them, and the kernel gathers the listed keys outside the visited tiles apart, columns first,
 * then diagonals on keys that are not listed columns. Every kept pair is counted once: in a visited tile, as
 * a column, or as a diagonal. Scattered lines then cost one key each, not whole key tiles.
 */
export function keyGathersOf(mask: BoolNode): KeyGathers | undefined {
  const polarity = new Map<BoolNode, "positive" | "mixed">();
  const walk = (node: BoolNode, positive: boolean): void => {
    switch (node.kind) {
      case "and": case "or": walk(node.a, positive); walk(node.b, positive); return;
      case "not": walk(node.a, !positive); return;
      case "ite": walk(node.cond, false); walk(node.cond, true); walk(node.then, positive); walk(node.else, positive); return;
      case "inIndex":
        if (lineOf(node) !== undefined) polarity.set(node, positive && polarity.get(node) !== "mixed" ? "positive" : "mixed");
        return;
      case "true": case "false": case "cmp": case "inBlocks": case "table":
        return;
    }
  };
  walk(mask, true);
  const positive = [...polarity].flatMap(([node, p]) => (p === "positive" && node.kind === "inIndex" ? [node] : []));
  const column = positive.find((node) => lineOf(node) === "column");
  const diagonal = positive.find((node) => lineOf(node) === "diagonal");
  if (column === undefined && diagonal === undefined) return undefined;
  const listed = (node: typeof column): GatheredList | undefined => node && { input: node.input, indices: node.indices };
  const columns = listed(column), diagonals = listed(diagonal);
  const gathered = new Set<BoolNode>([column, diagonal].filter((node) => node !== undefined));
  return { tileMask: simplify(without(mask, gathered)), ...(columns === undefined ? {} : { columns }), ...(diagonals === undefined ? {} : { diagonals }) };
}

/** `k in …` lists columns, `q - k in …` diagonals. */
function lineOf(node: BoolNode & { kind: "inIndex" }): "column" | "diagonal" | undefined {
  const { value } = node;
  if (value.kind === "var" && value.name === "k") return "column";
  if (value.kind === "sub" && value.a.kind === "var" && value.a.name === "q" && value.b.kind === "var" && value.b.name === "k") return "diagonal";
  return undefined;
}

/** The mask with the gathered tests replaced by `none`. */
function without(node: BoolNode, tests: ReadonlySet<BoolNode>): BoolNode {
  if (tests.has(node)) return P.FALSE;
  switch (node.kind) {
    case "and": return P.and(without(node.a, tests), without(node.b, tests));
    case "or": return P.or(without(node.a, tests), without(node.b, tests));
    case "not": return P.not(without(node.a, tests));
    case "ite": return P.ite(without(node.cond, tests), without(node.then, tests), without(node.else, tests));
    default: return node;
  }
}
