import { floorDiv, floorMod } from "../pattern/eval-int.js";
import type { BoolNode, CompareOp, IntNode } from "../pattern/nodes.js";
import { assertNever } from "../../util/hash.js";
import type { HeadContext } from "./interpret.js";

/**
 * The tile classifier: what a pattern keeps on a whole tile of query rows × keys, decided without visiting
 * its pairs — `none` (skip the tile), `all` (visit it unmasked) or `some` (visit it and mask). It is an
 * abstract interpretation of Pattern IR: integers become ranges [lo, hi] over the tile, booleans one of
 * the three classes, runtime inputs answer range queries (members of an index list in a range, bits of a
 * block set in a rectangle, smallest and largest id in a span of positions).
 *
 * It is sound, not exact: `none` and `all` are claimed only when true of every pair (each range holds every
 * value its expression takes on the tile), and `some` may turn out empty or full, which costs a visit or a
 * mask but never a wrong result. The device index builders (backends/wgsl/tile-builder.ts) print the same
 * rules; this file is their reference and is tested against the mask evaluator.
 */
export type TileClass = "none" | "some" | "all";

/** Query rows [rowStart, rowEnd) (indices i) and keys [kStart, kEnd); both non-empty. */
export interface TileRect {
  readonly rowStart: number;
  readonly rowEnd: number;
  readonly kStart: number;
  readonly kEnd: number;
}

interface Range {
  readonly lo: number;
  readonly hi: number;
}

export function classifyTile(node: BoolNode, context: HeadContext, rect: TileRect): TileClass {
  return new TileClassifier(context, rect).bool(node);
}

class TileClassifier {
  private readonly vars: Readonly<Record<"q" | "k" | "i" | "h" | "kvh" | "l", Range>>;

  constructor(private readonly context: HeadContext, rect: TileRect) {
    const { Q, K } = context.binding.sizes;
    const exact = (value: number): Range => ({ lo: value, hi: value });
    this.vars = {
      q: { lo: K - Q + rect.rowStart, hi: K - Q + rect.rowEnd - 1 },
      k: { lo: rect.kStart, hi: rect.kEnd - 1 },
      i: { lo: rect.rowStart, hi: rect.rowEnd - 1 },
      h: exact(context.h), kvh: exact(context.kvh), l: exact(context.l),
    };
  }

  bool(node: BoolNode): TileClass {
    switch (node.kind) {
      case "true": return "all";
      case "false": return "none";
      case "cmp": return compareRanges(node.op, this.int(node.a), this.int(node.b));
      case "and": return and3(this.bool(node.a), this.bool(node.b));
      case "or": return not3(and3(not3(this.bool(node.a)), not3(this.bool(node.b))));
      case "not": return not3(this.bool(node.a));
      case "ite": {
        const cond = this.bool(node.cond);
        if (cond === "all") return this.bool(node.then);
        if (cond === "none") return this.bool(node.else);
        const then = this.bool(node.then), otherwise = this.bool(node.else);
        return then === otherwise ? then : "some";
      }
      case "table": {
        const leaf = this.context.leaf(node.input);
        return leaf.kind === "bool" && leaf.value ? "all" : "none";
      }
      case "inIndex": {
        const leaf = this.context.leaf(node.input);
        if (leaf.kind !== "index") return "none";
        const { lo, hi } = this.int(node.value);
        let members = 0;
        for (let v = Math.max(lo, 0); v <= Math.min(hi, leaf.members.length - 1); v++) members += leaf.members[v] ?? 0;
        return classOfCount(members, hi - lo + 1);
      }
      case "inBlocks": {
        const leaf = this.context.leaf(node.input);
        if (leaf.kind !== "blocks") return "none";
        const rows = this.int(node.row), cols = this.int(node.col);
        let members = 0;
        for (let r = Math.max(rows.lo, 0); r <= Math.min(rows.hi, leaf.rows - 1); r++) {
          for (let c = Math.max(cols.lo, 0); c <= Math.min(cols.hi, leaf.cols - 1); c++) members += leaf.bits[r * leaf.cols + c] ?? 0;
        }
        return classOfCount(members, (rows.hi - rows.lo + 1) * (cols.hi - cols.lo + 1));
      }
      default: return assertNever(node, "boolean node");
    }
  }

  int(node: IntNode): Range {
    switch (node.kind) {
      case "const": return { lo: node.value, hi: node.value };
      case "var": return this.vars[node.name];
      case "size": {
        const value = this.context.binding.sizes[node.name];
        return { lo: value, hi: value };
      }
      case "param": {
        const value = this.context.binding.params.get(node.name) ?? Number.NaN;
        return { lo: value, hi: value };
      }
      case "add": {
        const a = this.int(node.a), b = this.int(node.b);
        return { lo: a.lo + b.lo, hi: a.hi + b.hi };
      }
      case "sub": {
        const a = this.int(node.a), b = this.int(node.b);
        return { lo: a.lo - b.hi, hi: a.hi - b.lo };
      }
      case "neg": {
        const a = this.int(node.a);
        return { lo: -a.hi, hi: -a.lo };
      }
      case "min": {
        const a = this.int(node.a), b = this.int(node.b);
        return { lo: Math.min(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
      }
      case "max": {
        const a = this.int(node.a), b = this.int(node.b);
        return { lo: Math.max(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
      }
      // Products and floor quotients (divisor ≥ 1) are monotone in each argument: the corners bound them.
      case "mul": return corners(this.int(node.a), this.int(node.b), (x, y) => x * y);
      case "div": return corners(this.int(node.a), this.int(node.b), floorDiv);
      case "mod": {
        const a = this.int(node.a), b = this.int(node.b);
        // One divisor and one period: the remainders run from a.lo's to a.hi's; otherwise anything below b.
        if (b.lo === b.hi && floorDiv(a.lo, b.lo) === floorDiv(a.hi, b.lo)) return { lo: floorMod(a.lo, b.lo), hi: floorMod(a.hi, b.lo) };
        return { lo: 0, hi: b.hi - 1 };
      }
      case "lookup": {
        const leaf = this.context.leaf(node.input);
        if (leaf.kind !== "ids") return { lo: Number.NaN, hi: Number.NaN };
        // Positions clamp to the ids (as the device accessor does); the checker only allows q and k here.
        const at = this.int(node.at), last = leaf.ids.length - 1;
        let lo = Infinity, hi = -Infinity;
        for (let p = clamp(at.lo, 0, last); p <= clamp(at.hi, 0, last); p++) {
          const id = leaf.ids[p] ?? Number.NaN;
          lo = Math.min(lo, id);
          hi = Math.max(hi, id);
        }
        return { lo, hi };
      }
      default: return assertNever(node, "integer node");
    }
  }
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(Math.max(value, lo), hi);
}

function corners(a: Range, b: Range, op: (x: number, y: number) => number): Range {
  const values = [op(a.lo, b.lo), op(a.lo, b.hi), op(a.hi, b.lo), op(a.hi, b.hi)];
  return { lo: Math.min(...values), hi: Math.max(...values) };
}

/** `members` of the `total` values in a range are in the set. */
function classOfCount(members: number, total: number): TileClass {
  return members === 0 ? "none" : members === total ? "all" : "some";
}

export function and3(a: TileClass, b: TileClass): TileClass {
  if (a === "none" || b === "none") return "none";
  return a === "all" && b === "all" ? "all" : "some";
}

export function not3(a: TileClass): TileClass {
  return a === "all" ? "none" : a === "none" ? "all" : "some";
}

/** A comparison of every value of `a` with every value of `b`: all true, all false, or mixed. */
export function compareRanges(op: CompareOp, a: Range, b: Range): TileClass {
  if (Number.isNaN(a.lo) || Number.isNaN(b.lo)) return "some";
  switch (op) {
    case "<": return a.hi < b.lo ? "all" : a.lo >= b.hi ? "none" : "some";
    case "<=": return a.hi <= b.lo ? "all" : a.lo > b.hi ? "none" : "some";
    case ">": return compareRanges("<", b, a);
    case ">=": return compareRanges("<=", b, a);
    case "==": return a.hi < b.lo || b.hi < a.lo ? "none" : a.lo === a.hi && b.lo === b.hi ? "all" : "some";
    case "!=": return not3(compareRanges("==", a, b));
  }
}
