import { hash64 } from "../../util/hash.js";

/**
 * Pattern IR: a pattern as one boolean expression over a (query, key) pair, with pattern calls inlined,
 * names resolved and types checked. Nodes are hash-consed: structurally equal nodes are the same object, so
 * `a === b` is structural equality and `node.hash` is a stable key for caches across processes.
 */

/** Per-pair and per-launch variables: positions (q, k, i) vary inside a kernel, the rest per launch. */
export type VarName = "q" | "k" | "i" | "h" | "kvh" | "l";
/** Sizes known at launch: lengths Q and K, head counts H and KVH, layer count L. */
export type SizeName = "Q" | "K" | "H" | "KVH" | "L";
/** Axes a runtime input is laid out over. */
export type Axis = "H" | "KVH" | "L" | "K";
export type InputKind = "index" | "blocks" | "ids" | "bool";
export type CompareOp = "<" | "<=" | ">" | ">=" | "==" | "!=";

export interface InputRef {
  readonly name: string;
  readonly kind: InputKind;
  readonly dims: readonly Axis[];
  /** Only for block sets: rows and columns of one block. */
  readonly blockSize?: readonly [IntNode, IntNode];
}

interface NodeBase {
  /** Stable structural hash; equal hashes mean the same node. */
  readonly hash: string;
}

export type IntNode =
  | (NodeBase & { readonly kind: "const"; readonly value: number })
  | (NodeBase & { readonly kind: "var"; readonly name: VarName })
  | (NodeBase & { readonly kind: "size"; readonly name: SizeName })
  | (NodeBase & { readonly kind: "param"; readonly name: string })
  | (NodeBase & { readonly kind: "add" | "sub" | "mul" | "min" | "max"; readonly a: IntNode; readonly b: IntNode })
  /** Floor division and non-negative remainder by a positive divisor. */
  | (NodeBase & { readonly kind: "div" | "mod"; readonly a: IntNode; readonly b: IntNode })
  | (NodeBase & { readonly kind: "neg"; readonly a: IntNode })
  /** A per-position id from an `ids[K]` input, at position q or k. */
  | (NodeBase & { readonly kind: "lookup"; readonly input: InputRef; readonly at: IntNode });

export type BoolNode =
  | (NodeBase & { readonly kind: "true" | "false" })
  | (NodeBase & { readonly kind: "cmp"; readonly op: CompareOp; readonly a: IntNode; readonly b: IntNode })
  | (NodeBase & { readonly kind: "and" | "or"; readonly a: BoolNode; readonly b: BoolNode })
  | (NodeBase & { readonly kind: "not"; readonly a: BoolNode })
  /** `value in input[indices]`: membership in a runtime index list. */
  | (NodeBase & { readonly kind: "inIndex"; readonly input: InputRef; readonly indices: readonly IntNode[]; readonly value: IntNode })
  /** `(row, col) in input[indices]`: membership in a runtime block set. */
  | (NodeBase & { readonly kind: "inBlocks"; readonly input: InputRef; readonly indices: readonly IntNode[]; readonly row: IntNode; readonly col: IntNode })
  /** `input[indices]`: an entry of a runtime 0/1 table. */
  | (NodeBase & { readonly kind: "table"; readonly input: InputRef; readonly indices: readonly IntNode[] })
  | (NodeBase & { readonly kind: "ite"; readonly cond: BoolNode; readonly then: BoolNode; readonly else: BoolNode });

export type PatternNode = IntNode | BoolNode;

/** Node families, so rules can say "any comparison" or "any binary integer operation". */
export const intBinaryKinds = ["add", "sub", "mul", "min", "max", "div", "mod"] as const;
export type IntBinaryKind = (typeof intBinaryKinds)[number];

const interned = new Map<string, PatternNode>();

function inputKey(input: InputRef): string {
  const block = input.blockSize === undefined ? "" : `(${input.blockSize[0].hash},${input.blockSize[1].hash})`;
  return `${input.name}:${input.kind}[${input.dims.join(",")}]${block}`;
}

/** Interns a node: the key lists the node's kind, its own fields and its children's hashes. */
function intern<N extends PatternNode>(key: string, build: (hash: string) => N): N {
  const hash = hash64(key);
  const existing = interned.get(hash);
  if (existing !== undefined) return existing as N;
  const node = build(hash);
  Object.freeze(node);
  interned.set(hash, node);
  return node;
}

export const int = (value: number): IntNode => intern(`const ${value}`, (hash) => ({ kind: "const", value, hash }));
export const variable = (name: VarName): IntNode => intern(`var ${name}`, (hash) => ({ kind: "var", name, hash }));
export const size = (name: SizeName): IntNode => intern(`size ${name}`, (hash) => ({ kind: "size", name, hash }));
export const param = (name: string): IntNode => intern(`param ${name}`, (hash) => ({ kind: "param", name, hash }));
export const intBinary = (kind: IntBinaryKind, a: IntNode, b: IntNode): IntNode =>
  intern(`${kind} ${a.hash} ${b.hash}`, (hash) => ({ kind, a, b, hash }));
export const neg = (a: IntNode): IntNode => intern(`neg ${a.hash}`, (hash) => ({ kind: "neg", a, hash }));
export const lookup = (input: InputRef, at: IntNode): IntNode =>
  intern(`lookup ${inputKey(input)} ${at.hash}`, (hash) => ({ kind: "lookup", input, at, hash }));

export const TRUE: BoolNode = intern("true", (hash) => ({ kind: "true", hash }));
export const FALSE: BoolNode = intern("false", (hash) => ({ kind: "false", hash }));
export const bool = (value: boolean): BoolNode => (value ? TRUE : FALSE);
export const cmp = (op: CompareOp, a: IntNode, b: IntNode): BoolNode =>
  intern(`cmp ${op} ${a.hash} ${b.hash}`, (hash) => ({ kind: "cmp", op, a, b, hash }));
export const and = (a: BoolNode, b: BoolNode): BoolNode => intern(`and ${a.hash} ${b.hash}`, (hash) => ({ kind: "and", a, b, hash }));
export const or = (a: BoolNode, b: BoolNode): BoolNode => intern(`or ${a.hash} ${b.hash}`, (hash) => ({ kind: "or", a, b, hash }));
export const not = (a: BoolNode): BoolNode => intern(`not ${a.hash}`, (hash) => ({ kind: "not", a, hash }));
export const inIndex = (input: InputRef, indices: readonly IntNode[], value: IntNode): BoolNode =>
  intern(`inIndex ${inputKey(input)} ${indices.map((x) => x.hash).join(",")} ${value.hash}`, (hash) => ({
    kind: "inIndex", input, indices, value, hash,
  }));
export const inBlocks = (input: InputRef, indices: readonly IntNode[], row: IntNode, col: IntNode): BoolNode =>
  intern(`inBlocks ${inputKey(input)} ${indices.map((x) => x.hash).join(",")} ${row.hash} ${col.hash}`, (hash) => ({
    kind: "inBlocks", input, indices, row, col, hash,
  }));
export const table = (input: InputRef, indices: readonly IntNode[]): BoolNode =>
  intern(`table ${inputKey(input)} ${indices.map((x) => x.hash).join(",")}`, (hash) => ({ kind: "table", input, indices, hash }));
export const ite = (cond: BoolNode, then: BoolNode, otherwise: BoolNode): BoolNode =>
  intern(`ite ${cond.hash} ${then.hash} ${otherwise.hash}`, (hash) => ({ kind: "ite", cond, then, else: otherwise, hash }));

/** `causal`: a key at or before the query's position. */
export const causal = (): BoolNode => cmp("<=", variable("k"), variable("q"));

export function isBoolNode(node: PatternNode): node is BoolNode {
  switch (node.kind) {
    case "true": case "false": case "cmp": case "and": case "or": case "not":
    case "inIndex": case "inBlocks": case "table": case "ite":
      return true;
    default:
      return false;
  }
}

/** The children of a node, integer and boolean alike, for generic walks. */
export function childrenOf(node: PatternNode): readonly PatternNode[] {
  switch (node.kind) {
    case "const": case "var": case "size": case "param": case "true": case "false":
      return [];
    case "add": case "sub": case "mul": case "min": case "max": case "div": case "mod":
    case "cmp": case "and": case "or":
      return [node.a, node.b];
    case "neg": case "not":
      return [node.a];
    case "lookup":
      return [node.at];
    case "inIndex":
      return [...node.indices, node.value];
    case "inBlocks":
      return [...node.indices, node.row, node.col];
    case "table":
      return node.indices;
    case "ite":
      return [node.cond, node.then, node.else];
  }
}
