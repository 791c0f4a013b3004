import type { BoolNode, InputRef, IntNode } from "../../ir/pattern/nodes.js";
import { assertNever } from "../../util/hash.js";

/**
 * Prints a specialized pattern (only q, k, i, sizes and constants left) as a WGSL boolean expression over `i32`
 *  locals `q`, `k`, `i` and the sizes (`Q_LEN`, `K_LEN`, …), using the helpers `floor_div` and `floor_mod` from the kernel prelude. Runtime
 * inputs are not printed here: dynamic patterns reach the kernel through their index plan.
 */
let slots: readonly InputRef[] = [];

/**
 * Prints `node` with runtime inputs addressed by their place in `inputs` (the kernel's input directory).
 */
export function wgslMask(node: BoolNode, inputs: readonly InputRef[]): string {
  slots = inputs;
  try {
    return wgslBool(node);
  } finally {
    slots = [];
  }
}

function inputSlot(input: InputRef): string {
  const slot = slots.findIndex((s) => s.name === input.name);
  if (slot < 0) throw new Error(`runtime input ${input.name} is not in the kernel's input directory`);
  return `${slot}u`;
}

/** The leaf of an input for this head/layer: row-major over its axes, each index below its extent. */
function leafIndex(input: InputRef, indices: readonly IntNode[]): string {
  const extent = { H: "HEADS", KVH: "KV_HEADS", L: "LAYERS", K: "1" } as const;
  let expression = "0";
  input.dims.forEach((axis, at) => {
    const index = indices[at];
    if (axis === "K" || index === undefined) return;
    expression = expression === "0" ? wgslInt(index) : `(${expression}) * ${extent[axis]} + ${wgslInt(index)}`;
  });
  return expression;
}

export function wgslBool(node: BoolNode): string {
  switch (node.kind) {
    case "true": return "true";
    case "false": return "false";
    case "cmp": return `(${wgslInt(node.a)} ${node.op} ${wgslInt(node.b)})`;
    case "and": return `(${wgslBool(node.a)} && ${wgslBool(node.b)})`;
    case "or": return `(${wgslBool(node.a)} || ${wgslBool(node.b)})`;
    case "not": return `!${wgslBool(node.a)}`;
    case "ite": return `select(${wgslBool(node.else)}, ${wgslBool(node.then)}, ${wgslBool(node.cond)})`;
    case "table": return `table_at(${inputSlot(node.input)}, ${leafIndex(node.input, node.indices)})`;
    case "inIndex": return `in_index(${inputSlot(node.input)}, ${leafIndex(node.input, node.indices)}, ${wgslInt(node.value)})`;
    case "inBlocks": return `in_blocks(${inputSlot(node.input)}, ${leafIndex(node.input, node.indices)}, ${wgslInt(node.row)}, ${wgslInt(node.col)})`;
    default: return assertNever(node, "boolean node");
  }
}

export function wgslInt(node: IntNode): string {
  switch (node.kind) {
    case "const": return node.value < 0 ? `(${node.value})` : String(node.value);
    case "var":
      return { q: "q", k: "k", i: "i", h: "head", kvh: "kv_head", l: "LAYER" }[node.name];
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
    case "lookup": return `ids_at(${inputSlot(node.input)}, ${wgslInt(node.at)})`;
    default: return assertNever(node, "integer node");
  }
}
