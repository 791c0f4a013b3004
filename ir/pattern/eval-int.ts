import { assertNever } from "../../util/hash.js";
import type { CompareOp, IntNode, SizeName } from "./nodes.js";

export type Sizes = Readonly<Record<SizeName, number>>;

/**
 * Largest length or count a launch accepts (binding refuses more): positions stay exact in 32-bit kernel
 * arithmetic, and passes may assume every size and position lies in 0…maxLength.
 */
export const maxLength = 2 ** 30;

/** Floor division and the non-negative remainder: the `/` and `%` of the language (divisor ≥ 1). */
export const floorDiv = (a: number, b: number): number => Math.floor(a / b);
export const floorMod = (a: number, b: number): number => ((a % b) + b) % b;

/** The comparisons of the language on integers. */
export function compareInts(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case "<": return a < b;
    case "<=": return a <= b;
    case ">": return a > b;
    case ">=": return a >= b;
    case "==": return a === b;
    case "!=": return a !== b;
  }
}

/**
 * Evaluates an integer expression that mentions no per-pair or per-head variables: literals, parameters
 * and sizes. Throws on a variable, which the checker has ruled out for every place this is called from.
 */
export function evalConstant(node: IntNode, params: ReadonlyMap<string, number>, sizes: Sizes): number {
  const recur = (n: IntNode): number => evalConstant(n, params, sizes);
  switch (node.kind) {
    case "const": return node.value;
    case "size": return sizes[node.name];
    case "param": {
      const value = params.get(node.name);
      if (value === undefined) throw new Error(`unbound parameter ${node.name}`);
      return value;
    }
    case "add": return recur(node.a) + recur(node.b);
    case "sub": return recur(node.a) - recur(node.b);
    case "mul": return recur(node.a) * recur(node.b);
    case "min": return Math.min(recur(node.a), recur(node.b));
    case "max": return Math.max(recur(node.a), recur(node.b));
    case "div": return floorDiv(recur(node.a), recur(node.b));
    case "mod": return floorMod(recur(node.a), recur(node.b));
    case "neg": return -recur(node.a);
    case "var": case "lookup": throw new Error(`${node.kind} in a constant expression`);
    default: return assertNever(node, "integer node");
  }
}
