import { evalConstant, floorDiv, floorMod } from "../ir/pattern/eval-int.js";
import * as P from "../ir/pattern/nodes.js";
import type { BoolNode, IntNode } from "../ir/pattern/nodes.js";
import { kvHeadOf, leafAt, type Binding } from "../ir/pattern/binding.js";
import { isCompileConstant } from "../ir/pattern/analysis.js";

/**
 * Pass `specialize`: fixes what one launch of one head and layer knows — parameter values, lengths, the
 * head, its KV head, the layer, and `bool` tables — and folds them into constants. What remains mentions
 * only q, k, i and per-pair runtime inputs. Planning and kernels start from this.
 */
export interface HeadLayer {
  readonly head: number;
  readonly layer: number;
}

export interface SpecializeOptions {
  /** Leave Q, K, H, KVH, L as symbols, for kernels that take the lengths at launch. */
  readonly keepSizes?: boolean;
  /**
   * Leave h, kvh, l and `bool` tables as they are: one kernel then serves every head, reading the runtime
   * inputs of each head on the device (dynamic patterns).
   */
  readonly keepHeads?: boolean;
}

export function specialize(binding: Binding, at: HeadLayer, options: SpecializeOptions = {}): BoolNode {
  const kvh = kvHeadOf(at.head, binding.sizes);
  const select = { h: at.head, kvh, l: at.layer };
  const ints = new Map<IntNode, IntNode>();
  const bools = new Map<BoolNode, BoolNode>();

  const int = (node: IntNode): IntNode => {
    const cached = ints.get(node);
    if (cached !== undefined) return cached;
    let result: IntNode;
    if (isCompileConstant(node) && !(options.keepSizes === true && mentionsSize(node))) result = P.int(evalConstant(node, binding.params, binding.sizes));
    else {
      switch (node.kind) {
        case "var":
          if (options.keepHeads === true) result = node;
          else result = node.name === "h" ? P.int(at.head) : node.name === "kvh" ? P.int(kvh) : node.name === "l" ? P.int(at.layer) : node;
          break;
        case "neg": result = P.neg(int(node.a)); break;
        case "lookup": result = P.lookup(node.input, int(node.at)); break;
        case "const": case "size": result = node; break;
        case "param": result = P.int(binding.params.get(node.name) ?? 0); break;
        default: result = P.intBinary(node.kind, int(node.a), int(node.b));
      }
      result = foldInt(result);
    }
    ints.set(node, result);
    return result;
  };

  const bool = (node: BoolNode): BoolNode => {
    const cached = bools.get(node);
    if (cached !== undefined) return cached;
    let result: BoolNode;
    switch (node.kind) {
      case "true": case "false": result = node; break;
      case "cmp": result = P.cmp(node.op, int(node.a), int(node.b)); break;
      case "and": result = P.and(bool(node.a), bool(node.b)); break;
      case "or": result = P.or(bool(node.a), bool(node.b)); break;
      case "not": result = P.not(bool(node.a)); break;
      case "ite": result = P.ite(bool(node.cond), bool(node.then), bool(node.else)); break;
      case "table": {
        if (options.keepHeads === true) {
          result = P.table(node.input, node.indices.map(int));
          break;
        }
        const bound = binding.inputs.get(node.input.name);
        const leaf = bound === undefined ? undefined : leafAt(bound, select);
        result = P.bool(leaf?.kind === "bool" && leaf.value);
        break;
      }
      case "inIndex": result = P.inIndex(node.input, node.indices.map(int), int(node.value)); break;
      case "inBlocks": result = P.inBlocks(node.input, node.indices.map(int), int(node.row), int(node.col)); break;
    }
    bools.set(node, result);
    return result;
  };
  return bool(binding.pattern.body);
}

function mentionsSize(node: IntNode): boolean {
  return node.kind === "size" || P.childrenOf(node).some((child) => mentionsSize(child as IntNode));
}

/** Folds operations on constants and the identities that make restrictions vanish (`x % 1`, `x / 1`, `x * 1`). */
function foldInt(node: IntNode): IntNode {
  if (node.kind === "neg" && node.a.kind === "const") return P.int(-node.a.value);
  if (!("b" in node)) return node;
  if (node.b.kind === "const" && node.b.value === 1) {
    if (node.kind === "mod") return P.int(0);
    if (node.kind === "div" || node.kind === "mul") return node.a;
  }
  if (node.b.kind === "const" && node.b.value === 0 && (node.kind === "add" || node.kind === "sub")) return node.a;
  if (node.a.kind !== "const" || node.b.kind !== "const") return node;
  const a = node.a.value, b = node.b.value;
  switch (node.kind) {
    case "add": return P.int(a + b);
    case "sub": return P.int(a - b);
    case "mul": return P.int(a * b);
    case "min": return P.int(Math.min(a, b));
    case "max": return P.int(Math.max(a, b));
    case "div": return P.int(floorDiv(a, b));
    case "mod": return P.int(floorMod(a, b));
  }
}
