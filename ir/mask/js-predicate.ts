import { assertNever } from "../../util/hash.js";
import type { BoolNode, IntNode } from "../pattern/nodes.js";

/**
 * Prints Pattern IR as a JavaScript expression over locals `q k i h kvh l Q K H KVH L`, parameters `p_NAME`
 * and input leaves `in_NAME`, with helpers `fdiv fmod hasIndex hasBlock`. Names come from the checker
 * (identifiers only), so the text is safe to compile. Used by the fast mask evaluator.
 */
export function jsBool(node: BoolNode): string {
  switch (node.kind) {
    case "true": return "true";
    case "false": return "false";
    case "cmp": return `(${jsInt(node.a)} ${node.op === "==" ? "===" : node.op === "!=" ? "!==" : node.op} ${jsInt(node.b)})`;
    case "and": return `(${jsBool(node.a)} && ${jsBool(node.b)})`;
    case "or": return `(${jsBool(node.a)} || ${jsBool(node.b)})`;
    case "not": return `!${jsBool(node.a)}`;
    case "ite": return `(${jsBool(node.cond)} ? ${jsBool(node.then)} : ${jsBool(node.else)})`;
    case "table": return `in_${node.input.name}.value`;
    case "inIndex": return `hasIndex(in_${node.input.name}, ${jsInt(node.value)})`;
    case "inBlocks": return `hasBlock(in_${node.input.name}, ${jsInt(node.row)}, ${jsInt(node.col)})`;
    default: return assertNever(node, "boolean node");
  }
}

export function jsInt(node: IntNode): string {
  switch (node.kind) {
    case "const": return node.value < 0 ? `(${node.value})` : String(node.value);
    case "var": case "size": return node.name;
    case "param": return `p_${node.name}`;
    case "add": return `(${jsInt(node.a)} + ${jsInt(node.b)})`;
    case "sub": return `(${jsInt(node.a)} - ${jsInt(node.b)})`;
    case "mul": return `(${jsInt(node.a)} * ${jsInt(node.b)})`;
    case "min": return `Math.min(${jsInt(node.a)}, ${jsInt(node.b)})`;
    case "max": return `Math.max(${jsInt(node.a)}, ${jsInt(node.b)})`;
    case "div": return `fdiv(${jsInt(node.a)}, ${jsInt(node.b)})`;
    case "mod": return `fmod(${jsInt(node.a)}, ${jsInt(node.b)})`;
    case "neg": return `(-${jsInt(node.a)})`;
    case "lookup": return `in_${node.input.name}.ids[${jsInt(node.at)}]`;
    default: return assertNever(node, "integer node");
  }
}
