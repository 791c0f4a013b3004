import type { Span } from "../../diagnostics/source.js";
import { hash64 } from "../../util/hash.js";
import { childrenOf, type BoolNode, type InputRef, type IntNode, type PatternNode } from "./nodes.js";

/** An integer parameter of a pattern: bound when a kernel is compiled or launched. */
export interface ParamInfo {
  readonly name: string;
  readonly default?: number;
  /** Inclusive bounds from `int(min..max)`. */
  readonly min?: number;
  readonly max?: number;
  readonly span: Span;
}

export interface InputInfo {
  readonly ref: InputRef;
  readonly span: Span;
}

/** A checked pattern: its interface and its body as one boolean Pattern IR expression. */
export interface PatternDef {
  readonly name: string;
  readonly span: Span;
  readonly params: readonly ParamInfo[];
  readonly inputs: readonly InputInfo[];
  readonly body: BoolNode;
  /** The estimator the pattern names, if any: how `run --estimate` chooses its runtime inputs. */
  readonly estimator?: EstimatorDecl;
}

/**
 * A checked `estimate NAME(outputs…, setting = value)` clause: the estimator's catalog name
 * (ir/estimate/catalog.ts), the inputs it writes, and its settings: integer expressions over parameters
 * and sizes (evaluated when the pattern is bound), or fractions written as literals.
 */
export interface EstimatorDecl {
  readonly name: string;
  readonly outputs: readonly string[];
  readonly settings: ReadonlyMap<string, EstimatorSetting>;
  readonly span: Span;
}

export type EstimatorSetting =
  | { readonly kind: "int"; readonly value: IntNode }
  | { readonly kind: "fraction"; readonly value: number };

/**
 * Static: the kept set follows from parameters, lengths and launch-time tables (`bool[...]` inputs pick a
 * closed form per head or layer). Dynamic: it also reads per-position or per-element runtime data.
 */
export type Dynamism = "static" | "dynamic";

export function dynamismOf(pattern: PatternDef): Dynamism {
  return pattern.inputs.some((input) => input.ref.kind !== "bool") ? "dynamic" : "static";
}

/** Stable key of a pattern's meaning: its name, parameter interface and body. */
export function patternHash(pattern: PatternDef): string {
  const params = pattern.params.map((p) => `${p.name}=${p.default ?? ""}[${p.min ?? ""}..${p.max ?? ""}]`).join(",");
  const inputs = pattern.inputs.map((i) => `${i.ref.name}:${i.ref.kind}[${i.ref.dims.join(",")}]`).join(",");
  return hash64(`${pattern.name}(${params};${inputs})=${pattern.body.hash}`);
}

/** Every node reachable from `root`, each once, children before parents. */
export function postOrder(root: PatternNode): PatternNode[] {
  const seen = new Set<PatternNode>();
  const order: PatternNode[] = [];
  const visit = (node: PatternNode): void => {
    if (seen.has(node)) return;
    seen.add(node);
    for (const child of childrenOf(node)) visit(child);
    order.push(node);
  };
  visit(root);
  return order;
}
