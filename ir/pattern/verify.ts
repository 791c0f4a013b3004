import { dependsOnPosition, isCompileConstant } from "./analysis.js";
import type { InputRef, PatternNode } from "./nodes.js";
import { postOrder, type PatternDef } from "./pattern.js";

/**
 * The Pattern IR spec, checked: every rule the checker enforces on the way in, restated on the IR so that
 * passes which rewrite it (simplify, regions) can be verified in tests. Returns the problems found.
 */
export function verifyPattern(pattern: PatternDef): string[] {
  const problems: string[] = [];
  const params = new Set(pattern.params.map((p) => p.name));
  const inputs = new Map<string, InputRef>(pattern.inputs.map((i) => [i.ref.name, i.ref]));
  const equalityOperands = new Set<PatternNode>();
  for (const node of postOrder(pattern.body)) {
    if (node.kind === "cmp" && (node.op === "==" || node.op === "!=")) {
      equalityOperands.add(node.a);
      equalityOperands.add(node.b);
    }
  }
  for (const node of postOrder(pattern.body)) {
    switch (node.kind) {
      case "param":
        if (!params.has(node.name)) problems.push(`parameter ${node.name} is not declared`);
        break;
      case "mul":
        if (dependsOnPosition(node.a) && dependsOnPosition(node.b)) problems.push("a product of two position-dependent values");
        break;
      case "div": case "mod":
        if (!isCompileConstant(node.b)) problems.push(`${node.kind} by a value that is not a compile-time constant`);
        break;
      case "lookup":
        if (node.at.kind !== "var" || (node.at.name !== "q" && node.at.name !== "k")) problems.push(`${node.input.name} looked up at something other than q or k`);
        if (!equalityOperands.has(node)) problems.push(`${node.input.name} lookup outside an equality`);
        break;
      default:
        break;
    }
    if ("input" in node) {
      const declared = inputs.get(node.input.name);
      if (declared === undefined) problems.push(`input ${node.input.name} is not declared`);
      else if (declared.kind !== node.input.kind || declared.dims.join() !== node.input.dims.join()) problems.push(`input ${node.input.name} is used with another type`);
      const expectedKind = { lookup: "ids", inIndex: "index", inBlocks: "blocks", table: "bool" }[node.kind];
      if (node.input.kind !== expectedKind) problems.push(`${node.kind} on a ${node.input.kind} input`);
    }
  }
  return problems;
}
