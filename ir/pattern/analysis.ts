import { childrenOf, type IntNode, type PatternNode, type SizeName, type VarName } from "./nodes.js";

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

/** Ranges of the names an integer expression reads; sizes default to [1, ∞), variables to everything. */
export interface IntervalEnv {
  readonly param: (name: string) => Interval;
  readonly size?: (name: SizeName) => Interval;
  readonly variable?: (name: VarName) => Interval;
  /** Per-position ids (default: every value). */
  readonly lookup?: Interval;
}

const everything: Interval = [-Infinity, Infinity];

/**
 * Bounds of a compile-constant expression given parameter ranges; sizes are at least 1. Used to prove a
 * divisor positive before any value is known.
 */
export function intervalOf(node: IntNode, params: ReadonlyMap<string, Interval>): Interval {
  return intervalIn(node, { param: (name) => params.get(name) ?? everything });
}

/**
 * Sound bounds of any integer expression over the ranges of what it reads (interval arithmetic; products and
 * floor quotients by a positive divisor are monotone in each argument, so the corners bound them). The
 * checker proves divisors positive with it; binding proves kernel arithmetic stays inside 32 bits.
 */
export function intervalIn(node: IntNode, env: IntervalEnv): Interval {
  const recur = (n: IntNode): Interval => intervalIn(n, env);
  switch (node.kind) {
    case "const":
      return [node.value, node.value];
    case "size":
      return env.size?.(node.name) ?? [1, Infinity];
    case "param":
      return env.param(node.name);
    case "var":
      return env.variable?.(node.name) ?? everything;
    case "lookup":
      return env.lookup ?? everything;
    case "neg": {
      const [lo, hi] = recur(node.a);
      return [-hi, -lo];
    }
    case "add": {
      const a = recur(node.a), b = recur(node.b);
      return [a[0] + b[0], a[1] + b[1]];
    }
    case "sub": {
      const a = recur(node.a), b = recur(node.b);
      return [a[0] - b[1], a[1] - b[0]];
    }
    case "mul":
      return corners(recur(node.a), recur(node.b), (x, y) => x * y);
    case "min": {
      const a = recur(node.a), b = recur(node.b);
      return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
    }
    case "max": {
      const a = recur(node.a), b = recur(node.b);
      return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
    }
    case "div": {
      const a = recur(node.a), b = recur(node.b);
      return b[0] >= 1 ? corners(a, b, (x, y) => Math.floor(x / y)) : everything;
    }
    case "mod": {
      const b = recur(node.b);
      return b[0] >= 1 ? [0, b[1] - 1] : everything;
    }
  }
}

function corners(a: Interval, b: Interval, op: (x: number, y: number) => number): Interval {
  const values = [op(a[0], b[0]), op(a[0], b[1]), op(a[1], b[0]), op(a[1], b[1])].map((x) => (Number.isNaN(x) ? 0 : x));
  return [Math.min(...values), Math.max(...values)];
}
