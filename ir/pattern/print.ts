import { assertNever } from "../../util/hash.js";
import type { BoolNode, InputRef, IntNode, PatternNode } from "./nodes.js";
import type { EstimatorDecl, PatternDef } from "./pattern.js";

/**
 * Prints Pattern IR in `.stip` expression syntax (what `stipple ir --stage pattern` shows). Calls are already
 * inlined, so the body reads as one expression over q, k, parameters and inputs.
 */
export function printPatternDef(pattern: PatternDef): string {
  const params = pattern.params.map((p) => {
    const range = p.min === undefined && p.max === undefined ? "" : `(${p.min ?? ""}..${p.max ?? ""})`;
    return `${p.name}: int${range}${p.default === undefined ? "" : ` = ${p.default}`}`;
  });
  const inputs = pattern.inputs.map((i) => `input ${i.ref.name}: ${printInputRef(i.ref)}`);
  const all = [...params, ...inputs];
  const estimate = pattern.estimator === undefined ? "" : `  ${printEstimatorDecl(pattern.estimator)}\n`;
  return `pattern ${pattern.name}${all.length === 0 ? "" : `(${all.join(", ")})`} =\n  ${printNode(pattern.body)}\n${estimate}`;
}

/** `estimate NAME(outputs…, setting = value, …)`, settings in source order. */
export function printEstimatorDecl(estimator: EstimatorDecl): string {
  const settings = [...estimator.settings].map(([name, setting]) => `${name} = ${setting.kind === "int" ? printNode(setting.value) : setting.value}`);
  return `estimate ${estimator.name}(${[...estimator.outputs, ...settings].join(", ")})`;
}

export function printInputRef(input: InputRef): string {
  const block = input.blockSize === undefined ? "" : `(${printNode(input.blockSize[0])}, ${printNode(input.blockSize[1])})`;
  return `${input.kind}[${input.dims.join(", ")}]${block}`;
}

// Binding strength, loosest first, as in the surface grammar.
const OR = 1, AND = 2, NOT = 3, COMPARE = 4, SUM = 5, PRODUCT = 6, NEGATION = 7, ATOM = 8;

function levelOf(node: PatternNode): number {
  switch (node.kind) {
    case "ite": return 0;
    case "or": return OR;
    case "and": return AND;
    case "not": return NOT;
    case "cmp": case "inIndex": case "inBlocks": return COMPARE;
    case "add": case "sub": return SUM;
    case "mul": case "div": case "mod": return PRODUCT;
    case "neg": return NEGATION;
    default: return ATOM;
  }
}

function at(node: PatternNode, needed: number): string {
  const text = printNode(node);
  return levelOf(node) < needed ? `(${text})` : text;
}

const symbols = { add: "+", sub: "-", mul: "*", div: "/", mod: "%" } as const;

export function printNode(node: IntNode | BoolNode): string {
  switch (node.kind) {
    case "const": return String(node.value);
    case "var": case "size": case "param": return node.name;
    case "add": case "sub": case "mul": case "div": case "mod": {
      const level = levelOf(node);
      return `${at(node.a, level)} ${symbols[node.kind]} ${at(node.b, level + 1)}`;
    }
    case "min": case "max": return `${node.kind}(${printNode(node.a)}, ${printNode(node.b)})`;
    case "neg": return `-${at(node.a, NEGATION)}`;
    case "lookup": return `${node.input.name}[${printNode(node.at)}]`;
    case "true": return "full";
    case "false": return "none";
    case "cmp": return `${at(node.a, SUM)} ${node.op} ${at(node.b, SUM)}`;
    case "and": return `${at(node.a, AND)} & ${at(node.b, NOT)}`;
    case "or": return `${at(node.a, OR)} | ${at(node.b, AND)}`;
    case "not": return `!${at(node.a, NOT)}`;
    case "inIndex": return `${at(node.value, SUM)} in ${node.input.name}[${node.indices.map(printNode).join(", ")}]`;
    case "inBlocks":
      return `(${printNode(node.row)}, ${printNode(node.col)}) in ${node.input.name}[${node.indices.map(printNode).join(", ")}]`;
    case "table": return `${node.input.name}[${node.indices.map(printNode).join(", ")}]`;
    case "ite": return `if ${printNode(node.cond)} then ${printNode(node.then)} else ${printNode(node.else)}`;
    default: return assertNever(node, "pattern node");
  }
}
