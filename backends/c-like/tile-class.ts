import type { BoolNode, CompareOp, IntNode } from "../../ir/pattern/nodes.js";
import type { InputRef } from "../../ir/pattern/nodes.js";
import { assertNever } from "../../util/hash.js";
import type { Dialect } from "./dialect.js";
import { MaskPrinter } from "./predicate.js";

/**
 * Prints the tile classifier (ir/mask/tile-class.ts, its reference) for a kernel's mask: an expression over
 * the ranges `q`, `k`, `i` of a tile that evaluates to 0 (keeps none), 1 (some) or 2 (all), using the range
 * and class helpers of the builder's prelude (`rng`, `r_add`, …, `c_and`, …, `in_index_class`, …) under
 * the same names in every dialect. Head and layer variables stay exact integers (`head`, `kv_head`, `LAYER`).
 */
export function printTileClass(node: BoolNode, inputs: readonly InputRef[], dialect: Dialect): string {
  return new TileClassPrinter(new MaskPrinter(inputs, dialect), dialect).bool(node);
}

const compareHelper: Record<CompareOp, (a: string, b: string) => string> = {
  "<": (a, b) => `c_lt(${a}, ${b})`,
  "<=": (a, b) => `c_le(${a}, ${b})`,
  ">": (a, b) => `c_lt(${b}, ${a})`,
  ">=": (a, b) => `c_le(${b}, ${a})`,
  "==": (a, b) => `c_eq(${a}, ${b})`,
  "!=": (a, b) => `c_not(c_eq(${a}, ${b}))`,
};

class TileClassPrinter {
  constructor(private readonly point: MaskPrinter, private readonly dialect: Dialect) {}

  bool(node: BoolNode): string {
    const u = this.dialect.unsigned;
    switch (node.kind) {
      case "true": return `2${u}`;
      case "false": return `0${u}`;
      case "cmp": return compareHelper[node.op](this.int(node.a), this.int(node.b));
      case "and": return `c_and(${this.bool(node.a)}, ${this.bool(node.b)})`;
      case "or": return `c_or(${this.bool(node.a)}, ${this.bool(node.b)})`;
      case "not": return `c_not(${this.bool(node.a)})`;
      case "ite": return `c_ite(${this.bool(node.cond)}, ${this.bool(node.then)}, ${this.bool(node.else)})`;
      case "table": return this.dialect.select(`0${u}`, `2${u}`, `table_at(${this.point.slot(node.input)}, ${this.point.leafIndex(node.input, node.indices)})`);
      case "inIndex": return `in_index_class(${this.point.slot(node.input)}, ${this.point.leafIndex(node.input, node.indices)}, ${this.int(node.value)})`;
      case "inBlocks":
        return `in_blocks_class(${this.point.slot(node.input)}, ${this.point.leafIndex(node.input, node.indices)}, ${this.int(node.row)}, ${this.int(node.col)})`;
      default: return assertNever(node, "boolean node");
    }
  }

  int(node: IntNode): string {
    switch (node.kind) {
      case "var":
        // Positions are the tile's ranges; head and layer variables are exact.
        return node.name === "q" || node.name === "k" || node.name === "i" ? node.name : this.exact(node);
      case "const": case "size": case "param": return this.exact(node);
      case "add": case "sub": case "mul": case "min": case "max": case "div": case "mod":
        return `r_${node.kind}(${this.int(node.a)}, ${this.int(node.b)})`;
      case "neg": return `r_neg(${this.int(node.a)})`;
      case "lookup": return `ids_range(${this.point.slot(node.input)}, ${this.int(node.at)})`;
      default: return assertNever(node, "integer node");
    }
  }

  private exact(node: IntNode): string {
    const value = this.point.int(node);
    return `rng(${value}, ${value})`;
  }
}
