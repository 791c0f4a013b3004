import { kvHeadOf, leafAt, type Binding, type InputLeaf } from "../pattern/binding.js";

import { compareInts, floorDiv, floorMod } from "../pattern/eval-int.js";
import type { BoolNode, InputRef, IntNode } from "../pattern/nodes.js";
import { assertNever } from "../../util/hash.js";

/** Everything a pattern can read about one head of one layer. */
export interface HeadContext {
  readonly binding: Binding;
  readonly h: number;
  readonly kvh: number;
  readonly l: number;
  readonly leaf: (input: InputRef) => InputLeaf;
}

export function headContext(binding: Binding, head: number, layer: number): HeadContext {
  const kvh = kvHeadOf(head, binding.sizes);
  const select = { h: head, kvh, l: layer };
  const leaves = new Map<string, InputLeaf>();
  return {
    binding, h: head, kvh, l: layer,
    leaf: (input) => {
      let leaf = leaves.get(input.name);
      if (leaf === undefined) {
        const bound = binding.inputs.get(input.name);
        if (bound === undefined) throw new Error(`unbound input ${input.name}`);
        leaf = leafAt(bound, select);
        leaves.set(input.name, leaf);
      }
      return leaf;
    },
  };
}

/**
 * The definition of what a pattern keeps, one pair at a time: a direct tree walk over Pattern IR. Slow and
 * obviously right; the fast evaluator (evaluate.ts) and every later stage are tested against it.
 */
export function keepsPair(node: BoolNode, context: HeadContext, row: number, key: number): boolean {
  const { Q, K } = context.binding.sizes;
  const q = K - Q + row;
  const int = (n: IntNode): number => intAt(n, context, q, key, row);
  const keeps = (n: BoolNode): boolean => keepsPair(n, context, row, key);
  switch (node.kind) {
    case "true": return true;
    case "false": return false;
    case "cmp": return compareInts(node.op, int(node.a), int(node.b));
    case "and": return keeps(node.a) && keeps(node.b);
    case "or": return keeps(node.a) || keeps(node.b);
    case "not": return !keeps(node.a);
    case "ite": return keeps(node.cond) ? keeps(node.then) : keeps(node.else);
    case "table": {
      const leaf = context.leaf(node.input);
      return leaf.kind === "bool" && leaf.value;
    }
    case "inIndex": {
      const leaf = context.leaf(node.input);
      const value = int(node.value);
      return leaf.kind === "index" && value >= 0 && value < leaf.members.length && leaf.members[value] === 1;
    }
    case "inBlocks": {
      const leaf = context.leaf(node.input);
      const r = int(node.row), c = int(node.col);
      // Coordinates outside the matrix are not in the set.
      return leaf.kind === "blocks" && r >= 0 && r < leaf.rows && c >= 0 && c < leaf.cols && leaf.bits[r * leaf.cols + c] === 1;
    }
    default: return assertNever(node, "boolean node");
  }
}

function intAt(node: IntNode, context: HeadContext, q: number, key: number, row: number): number {
  const int = (n: IntNode): number => intAt(n, context, q, key, row);
  switch (node.kind) {
    case "const": return node.value;
    case "var": {
      const values: Record<typeof node.name, number> = { q, k: key, i: row, h: context.h, kvh: context.kvh, l: context.l };
      return values[node.name];
    }
    case "size": return context.binding.sizes[node.name];
    case "param": return context.binding.params.get(node.name) ?? Number.NaN;
    case "add": return int(node.a) + int(node.b);
    case "sub": return int(node.a) - int(node.b);
    case "mul": return int(node.a) * int(node.b);
    case "min": return Math.min(int(node.a), int(node.b));
    case "max": return Math.max(int(node.a), int(node.b));
    case "div": return floorDiv(int(node.a), int(node.b));
    case "mod": return floorMod(int(node.a), int(node.b));
    case "neg": return -int(node.a);
    case "lookup": {
      const leaf = context.leaf(node.input);
      return leaf.kind === "ids" ? (leaf.ids[int(node.at)] ?? Number.NaN) : Number.NaN;
    }
    default: return assertNever(node, "integer node");
  }
}
