import type { BoolNode, InputRef, IntNode } from "../../ir/pattern/nodes.js";
import { assertNever } from "../../util/hash.js";
import type { Dialect } from "./dialect.js";

/**
 * Prints a specialized pattern (q, k, i, h, kvh, l, sizes and constants left) as a boolean expression over
 * the integer locals `q`, `k`, `i`, `head`, `kv_head` and the sizes (`Q_LEN`, `K_LEN`, …), using the
 * helpers `floor_div` and `floor_mod` of the kernel prelude, and for runtime inputs the accessors
 * `table_at`, `in_index`, `in_blocks`, `ids_at` (inputs addressed by their place in the kernel's input
 * directory). The same text in WGSL and CUDA but for `select`.
 */
export function printMask(node: BoolNode, inputs: readonly InputRef[], dialect: Dialect): string {
  return new MaskPrinter(inputs, dialect).bool(node);
}

export class MaskPrinter {
  constructor(private readonly slots: readonly InputRef[], private readonly dialect: Dialect) {}

  /** An input's place in the kernel's input directory, as an unsigned literal. */
  slot(input: InputRef): string {
    const slot = this.slots.findIndex((s) => s.name === input.name);
    if (slot < 0) throw new Error(`runtime input ${input.name} is not in the kernel's input directory`);
    return `${slot}${this.dialect.unsigned}`;
  }

  /** The leaf of an input for this head/layer: row-major over its axes, each index below its extent. */
  leafIndex(input: InputRef, indices: readonly IntNode[]): string {
    const extent = { H: "HEADS", KVH: "KV_HEADS", L: "LAYERS", K: "1" } as const;
    let expression = "0";
    input.dims.forEach((axis, at) => {
      const index = indices[at];
      if (axis === "K" || index === undefined) return;
      expression = expression === "0" ? this.int(index) : `(${expression}) * ${extent[axis]} + ${this.int(index)}`;
    });
    return expression;
  }

  bool(node: BoolNode): string {
    switch (node.kind) {
      case "true": return "true";
      case "false": return "false";
      case "cmp": return `(${this.int(node.a)} ${node.op} ${this.int(node.b)})`;
      case "and": return `(${this.bool(node.a)} && ${this.bool(node.b)})`;
      case "or": return `(${this.bool(node.a)} || ${this.bool(node.b)})`;
      case "not": return `!${this.bool(node.a)}`;
      case "ite": return this.dialect.select(this.bool(node.else), this.bool(node.then), this.bool(node.cond));
      case "table": return `table_at(${this.slot(node.input)}, ${this.leafIndex(node.input, node.indices)})`;
      case "inIndex": return `in_index(${this.slot(node.input)}, ${this.leafIndex(node.input, node.indices)}, ${this.int(node.value)})`;
      case "inBlocks": return `in_blocks(${this.slot(node.input)}, ${this.leafIndex(node.input, node.indices)}, ${this.int(node.row)}, ${this.int(node.col)})`;
      default: return assertNever(node, "boolean node");
    }
  }

  int(node: IntNode): string {
    switch (node.kind) {
      case "const": return node.value < 0 ? `(${node.value})` : String(node.value);
      case "var":
        return { q: "q", k: "k", i: "i", h: "head", kvh: "kv_head", l: "LAYER" }[node.name];
      case "size":
        return { Q: "Q_LEN", K: "K_LEN", H: "HEADS", KVH: "KV_HEADS", L: "LAYERS" }[node.name];
      case "param":
        throw new Error(`parameter ${node.name} should have been specialized away`);
      case "add": return `(${this.int(node.a)} + ${this.int(node.b)})`;
      case "sub": return `(${this.int(node.a)} - ${this.int(node.b)})`;
      case "mul": return `(${this.int(node.a)} * ${this.int(node.b)})`;
      case "min": return `min(${this.int(node.a)}, ${this.int(node.b)})`;
      case "max": return `max(${this.int(node.a)}, ${this.int(node.b)})`;
      case "div": return `floor_div(${this.int(node.a)}, ${this.int(node.b)})`;
      case "mod": return `floor_mod(${this.int(node.a)}, ${this.int(node.b)})`;
      case "neg": return `(-${this.int(node.a)})`;
      case "lookup": return `ids_at(${this.slot(node.input)}, ${this.int(node.at)})`;
      default: return assertNever(node, "integer node");
    }
  }
}
