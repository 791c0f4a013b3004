import { childrenOf, type IntNode, type PatternNode } from "./nodes.js";

/** Facts about Pattern IR nodes that the checker and the passes ask often. Nodes are interned: memoize by identity. */

const positionCache = new Map<PatternNode, boolean>();

/** Whether the value changes from one (query, key) pair to another: it mentions q, k, i or a per-position id. */
export function dependsOnPosition(node: PatternNode): boolean {
  const cached = positionCache.get(node);
  if (cached !== undefined) return cached;
  let result: boolean;
  switch (node.kind) {
    case "var":
      result = node.name === "q" || node.name === "k" || node.name === "i";
      break;
    case "lookup":
      result = true;
      break;
    default:
      result = childrenOf(node).some(dependsOnPosition);
  }
  positionCache.set(node, result);
  return result;
}

/** Known before any kernel runs: built from literals, parameters and sizes only (no q, k, i, h, kvh, l). */
export function isCompileConstant(node: IntNode): boolean {
  switch (node.kind) {
    case "const": case "size": case "param":
      return true;
    case "var": case "lookup":
      return false;
    case "neg":
      return isCompileConstant(node.a);
    default:
      return isCompileConstant(node.a) && isCompileConstant(node.b);
  }
}

export type Interval = readonly [number, number];

/**
 * Bounds of a compile-constant expression given parameter ranges; sizes are at least 1. Used to prove a
 * divisor positive before any value is known.
 */
export function intervalOf(node: IntNode, params: ReadonlyMap<string, Interval>): Interval {
  switch (node.kind) {
    case "const":
      return [node.value, node.value];
    case "size":
      return [1, Infinity];
    case "param":
      return params.get(node.name) ?? [-Infinity, Infinity];
    case "var": case "lookup":
      return [-Infinity, Infinity];
    case "neg": {
      const [lo, hi] = intervalOf(node.a, params);
      return [-hi, -lo];
    }
    case "add": {
      const a = intervalOf(node.a, params), b = intervalOf(node.b, params);
      return [a[0] + b[0], a[1] + b[1]];
    }
    case "sub": {
      const a = intervalOf(node.a, params), b = intervalOf(node.b, params);
      return [a[0] - b[1], a[1] - b[0]];
    }
    case "mul": {
      const a = intervalOf(node.a, params), b = intervalOf(node.b, params);
      const products = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]].map((x) => (Number.isNaN(x) ? 0 : x));
      return [Math.min(...products), Math.max(...products)];
    }
    case "min": {
      const a = intervalOf(node.a, params), b = intervalOf(node.b, params);
      return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
    }
    case "max": {
      const a = intervalOf(node.a, params), b = intervalOf(node.b, params);
      return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
    }
    case "div": case "mod":
      // Sound but loose: the checker only needs these to decide positivity of divisors built from them.
      return [-Infinity, Infinity];
  }
}
