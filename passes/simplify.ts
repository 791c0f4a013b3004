import { intervalIn, type Interval } from "../ir/pattern/analysis.js";
import { compareInts, maxLength } from "../ir/pattern/eval-int.js";
import * as P from "../ir/pattern/nodes.js";
import type { BoolNode, CompareOp } from "../ir/pattern/nodes.js";

/**
 * Pass `simplify`: boolean algebra on Pattern IR, run bottom-up to a fixed point. Constant comparisons fold;
 * `true`/`false` absorb; `!` moves into comparisons; `&` and `|` chains are flattened and deduplicated (so a
 * `causal` repeated by an inlined call appears once, and `x & !x` is `none`); an `if` with a constant or
 * irrelevant condition disappears. A comparison that no length can change folds too (`q - k < 2147483647`
 * is `true` when positions are below maxLength): then no kernel computes with the huge constant. The kept
 * set never changes (tested against the mask evaluator).
 */
export function simplify(root: BoolNode): BoolNode {
  const memo = new Map<BoolNode, BoolNode>();
  const visit = (node: BoolNode): BoolNode => {
    const cached = memo.get(node);
    if (cached !== undefined) return cached;
    const result = rewrite(rebuild(node, visit));
    memo.set(node, result);
    return result;
  };
  let current = root;
  // Each round only shrinks the tree; the guard catches a rule that would not.
  for (let round = 0; round < 16; round++) {
    const next = visit(current);
    if (next === current) return next;
    current = next;
  }
  return current;
}

function rebuild(node: BoolNode, visit: (n: BoolNode) => BoolNode): BoolNode {
  switch (node.kind) {
    case "and": return P.and(visit(node.a), visit(node.b));
    case "or": return P.or(visit(node.a), visit(node.b));
    case "not": return P.not(visit(node.a));
    case "ite": return P.ite(visit(node.cond), visit(node.then), visit(node.else));
    default: return node;
  }
}

const negated: Record<CompareOp, CompareOp> = { "<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "==" };

function rewrite(node: BoolNode): BoolNode {
  switch (node.kind) {
    case "cmp":
      if (node.a.kind === "const" && node.b.kind === "const") return P.bool(compareInts(node.op, node.a.value, node.b.value));
      return decidedByRanges(node) ?? node;
    case "not":
      switch (node.a.kind) {
        case "true": return P.FALSE;
        case "false": return P.TRUE;
        case "not": return node.a.a;
        case "cmp": return P.cmp(negated[node.a.op], node.a.a, node.a.b);
        default: return node;
      }
    case "and": case "or":
      return chain(node.kind, node);
    case "ite":
      if (node.cond.kind === "true") return node.then;
      if (node.cond.kind === "false") return node.else;
      if (node.then === node.else) return node.then;
      return node;
    default:
      return node;
  }
}

/** Flattens an `&` or `|` chain, drops identities and duplicates, detects `x op !x`, rebuilds left to right. */
function chain(kind: "and" | "or", node: BoolNode): BoolNode {
  const identity = kind === "and" ? P.TRUE : P.FALSE;
  const absorbing = kind === "and" ? P.FALSE : P.TRUE;
  const operands: BoolNode[] = [];
  const collect = (n: BoolNode): void => {
    if (n.kind === kind) {
      collect(n.a);
      collect(n.b);
    } else if (n !== identity && !operands.includes(n)) operands.push(n);
  };
  collect(node);
  if (operands.includes(absorbing)) return absorbing;
  for (const operand of operands) {
    const opposite = operand.kind === "not" ? operand.a : operand.kind === "cmp" ? P.cmp(negated[operand.op], operand.a, operand.b) : P.not(operand);
    if (operands.includes(opposite)) return absorbing;
  }
  const [first, ...rest] = operands;
  if (first === undefined) return identity;
  return rest.reduce((acc, operand) => (kind === "and" ? P.and(acc, operand) : P.or(acc, operand)), first);
}

/** Ranges every launch guarantees: sizes in 1…maxLength, positions, heads and layers in 0…maxLength − 1. */
const launchRanges = {
  param: (): Interval => [-Infinity, Infinity],
  size: (): Interval => [1, maxLength],
  variable: (): Interval => [0, maxLength - 1],
};

function decidedByRanges(node: BoolNode & { kind: "cmp" }): BoolNode | undefined {
  const [aLo, aHi] = intervalIn(node.a, launchRanges);
  const [bLo, bHi] = intervalIn(node.b, launchRanges);
  const always = (holds: boolean): BoolNode | undefined => (holds ? P.TRUE : undefined);
  const never = (holds: boolean): BoolNode | undefined => (holds ? P.FALSE : undefined);
  switch (node.op) {
    case "<": return always(aHi < bLo) ?? never(aLo >= bHi);
    case "<=": return always(aHi <= bLo) ?? never(aLo > bHi);
    case ">": return always(aLo > bHi) ?? never(aHi <= bLo);
    case ">=": return always(aLo >= bHi) ?? never(aHi < bLo);
    case "==": return never(aHi < bLo || bHi < aLo);
    case "!=": return always(aHi < bLo || bHi < aLo);
  }
}
