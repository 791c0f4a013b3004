import type { BoolNode, IntNode } from "../../ir/pattern/nodes.js";
import { assertNever } from "../../util/hash.js";

/**
 * Prints a specialized pattern (only q, k, i, sizes and constants left) as a WGSL boolean expression over `i32`
 *  locals `q`, `k`, `i` and the sizes (`Q_LEN`, `K_LEN`, …), using the helpers `floor_div` and `floor_mod` from the kernel prelude. Runtime
 * inputs are not printed here: dynamic patterns reach the kernel through their index plan.
 */
export function wgslBool(node: BoolNode): string {
  switch (node.kind) {
    case "true": return "true";
    case "false": return "false";
    case "cmp": return `(${wgslInt(node.a)} ${node.op} ${wgslInt(node.b)})`;
    case "and": return `(${wgslBool(node.a)} && ${wgslBool(node.b)})`;
    case "or": return `(${wgslBool(node.a)} || ${wgslBool(node.b)})`;
    case "not": return `!${wgslBool(node.a)}`;
    case "ite": return `select(${wgslBool(node.else)}, ${wgslBool(node.then)}, ${wgslBool(node.cond)})`;
    case "table": case "inIndex": case "inBlocks":
      throw new Error(`runtime input ${node.input.name} reached the WGSL predicate printer`);
    default: return assertNever(node, "boolean node");
  }
}

export function wgslInt(node: IntNode): string {
  switch (node.kind) {
    case "const": return node.value < 0 ? `(${node.value})` : String(node.value);
    case "var":
      if (node.name === "q" || node.name === "k" || node.name === "i") return node.name;
      throw new Error(`variable ${node.name} should have been specialized away`);
    case "size":
      return { Q: "Q_LEN", K: "K_LEN", H: "HEADS", KVH: "KV_HEADS", L: "LAYERS" }[node.name];
    case "param":
      throw new Error(`parameter ${node.name} should have been specialized away`);
    case "add": return `(${wgslInt(node.a)} + ${wgslInt(node.b)})`;
    case "sub": return `(${wgslInt(node.a)} - ${wgslInt(node.b)})`;
    case "mul": return `(${wgslInt(node.a)} * ${wgslInt(node.b)})`;
    case "min": return `min(${wgslInt(node.a)}, ${wgslInt(node.b)})`;
    case "max": return `max(${wgslInt(node.a)}, ${wgslInt(node.b)})`;
    case "div": return `floor_div(${wgslInt(node.a)}, ${wgslInt(node.b)})`;
    case "mod": return `floor_mod(${wgslInt(node.a)}, ${wgslInt(node.b)})`;
    case "neg": return `(-${wgslInt(node.a)})`;
    case "lookup": throw new Error(`runtime input ${node.input.name} reached the WGSL predicate printer`);
    default: return assertNever(node, "integer node");
  }
}
