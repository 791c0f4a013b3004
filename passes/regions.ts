import * as P from "../ir/pattern/nodes.js";
import type { BoolNode, CompareOp, IntNode } from "../ir/pattern/nodes.js";
import type { Sizes } from "../ir/pattern/eval-int.js";
import type { Bound, Region, RegionForm } from "../ir/regions/region.js";

/**
 * Pass `regions`: a specialized, simplified pattern → a union of regions (disjunctive normal form). Each
 * comparison that is affine in q and k with a key coefficient of ±1 becomes a key bound; one without k
 * becomes a row bound; everything else stays a restriction (static) or a runtime test. More than
 * `maxRegions` regions fall back to one unbounded, fully masked region: always correct, just slower.
 */
export const maxRegions = 64;

/** q·q + k·k + c, after i = q − (K − Q) is substituted. */
interface Linear {
  readonly q: number;
  readonly k: number;
  readonly c: number;
}

type Atom = BoolNode;

export function regionsOf(body: BoolNode, sizes: Sizes): RegionForm {
  const conjunctions = dnf(body, false, sizes);
  if (conjunctions === undefined) return { exact: false, regions: [fallbackRegion(body)] };
  const regions: Region[] = [];
  for (const atoms of conjunctions) {
    const region = regionOf(atoms, sizes);
    if (region !== undefined) regions.push(region);
  }
  return { exact: true, regions };
}

function fallbackRegion(body: BoolNode): Region {
  return { lower: [], upper: [], rowMin: -Infinity, rowMax: Infinity, restrictions: [body], runtime: [] };
}

/** Conjunctions of atoms whose union is the node (negated when `negate`); undefined past maxRegions. */
function dnf(node: BoolNode, negate: boolean, sizes: Sizes): Atom[][] | undefined {
  switch (node.kind) {
    case "true": return negate ? [] : [[]];
    case "false": return negate ? [[]] : [];
    case "not": return dnf(node.a, !negate, sizes);
    case "and": case "or": {
      const a = dnf(node.a, negate, sizes);
      const b = dnf(node.b, negate, sizes);
      if (a === undefined || b === undefined) return undefined;
      // De Morgan: a negated `and` is a union.
      if ((node.kind === "or") !== negate) return a.length + b.length > maxRegions ? undefined : [...a, ...b];
      if (a.length * b.length > maxRegions) return undefined;
      return a.flatMap((x) => b.map((y) => [...x, ...y]));
    }
    case "ite":
      return dnf(P.or(P.and(node.cond, node.then), P.and(P.not(node.cond), node.else)), negate, sizes);
    case "cmp": {
      const op = negate ? negation[node.op] : node.op;
      // `!=` between affine values is a union of two half-planes; keep it exact.
      if (op === "!=" && linear(node.a, sizes) !== undefined && linear(node.b, sizes) !== undefined) {
        return [[P.cmp("<", node.a, node.b)], [P.cmp(">", node.a, node.b)]];
      }
      return [[P.cmp(op, node.a, node.b)]];
    }
    case "inIndex": case "inBlocks": case "table":
      return [[negate ? P.not(node) : node]];
  }
}

const negation: Record<CompareOp, CompareOp> = { "<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "==" };

function regionOf(atoms: readonly Atom[], sizes: Sizes): Region | undefined {
  const lower: Bound[] = [];
  const upper: Bound[] = [];
  let rowMin = -Infinity;
  let rowMax = Infinity;
  const restrictions: BoolNode[] = [];
  const runtime: BoolNode[] = [];
  for (const atom of atoms) {
    const constraints = atom.kind === "cmp" ? nonNegative(atom, sizes) : undefined;
    if (constraints === undefined) {
      (mentionsInput(atom) ? runtime : restrictions).push(atom);
      continue;
    }
    for (const l of constraints) {
      if (l.k === 0) {
        if (l.q === 0) {
          if (l.c < 0) return undefined; // a false constant: the region is empty
        } else if (l.q > 0) rowMin = Math.max(rowMin, Math.ceil(-l.c / l.q));
        else rowMax = Math.min(rowMax, Math.floor(l.c / -l.q));
      } else if (l.k === 1) lower.push({ slope: -l.q, offset: -l.c });
      else if (l.k === -1) upper.push({ slope: l.q, offset: l.c });
      else restrictions.push(atom);
    }
  }
  return { lower: dedupe(lower), upper: dedupe(upper), rowMin, rowMax, restrictions, runtime };
}

/** A comparison as linear forms that must be ≥ 0, or undefined when it is not affine. */
function nonNegative(atom: BoolNode & { kind: "cmp" }, sizes: Sizes): Linear[] | undefined {
  const a = linear(atom.a, sizes);
  const b = linear(atom.b, sizes);
  if (a === undefined || b === undefined) return undefined;
  const d = { q: a.q - b.q, k: a.k - b.k, c: a.c - b.c }; // a − b
  const minus = { q: -d.q, k: -d.k, c: -d.c };
  switch (atom.op) {
    case "<": return [{ ...minus, c: minus.c - 1 }];
    case "<=": return [minus];
    case ">": return [{ ...d, c: d.c - 1 }];
    case ">=": return [d];
    case "==": return [d, minus];
    case "!=": return undefined;
  }
}

function linear(node: IntNode, sizes: Sizes): Linear | undefined {
  switch (node.kind) {
    case "const": return { q: 0, k: 0, c: node.value };
    case "var":
      if (node.name === "q") return { q: 1, k: 0, c: 0 };
      if (node.name === "k") return { q: 0, k: 1, c: 0 };
      if (node.name === "i") return { q: 1, k: 0, c: -(sizes.K - sizes.Q) };
      return undefined;
    case "add": case "sub": {
      const a = linear(node.a, sizes), b = linear(node.b, sizes);
      if (a === undefined || b === undefined) return undefined;
      const s = node.kind === "add" ? 1 : -1;
      return { q: a.q + s * b.q, k: a.k + s * b.k, c: a.c + s * b.c };
    }
    case "neg": {
      const a = linear(node.a, sizes);
      return a && { q: -a.q, k: -a.k, c: -a.c };
    }
    case "mul": {
      const a = linear(node.a, sizes), b = linear(node.b, sizes);
      if (a === undefined || b === undefined) return undefined;
      if (a.q === 0 && a.k === 0) return { q: a.c * b.q, k: a.c * b.k, c: a.c * b.c };
      if (b.q === 0 && b.k === 0) return { q: b.c * a.q, k: b.c * a.k, c: b.c * a.c };
      return undefined;
    }
    default:
      return undefined;
  }
}

function mentionsInput(node: BoolNode | IntNode): boolean {
  if ("input" in node) return true;
  return P.childrenOf(node).some(mentionsInput);
}

function dedupe(bounds: Bound[]): Bound[] {
  const seen = new Set<string>();
  return bounds.filter((b) => {
    const key = `${b.slope},${b.offset}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
