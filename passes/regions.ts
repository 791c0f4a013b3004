import * as P from "../ir/pattern/nodes.js";
import type { BoolNode, CompareOp, IntNode } from "../ir/pattern/nodes.js";
import type { Sizes } from "../ir/pattern/eval-int.js";
import {
  affine, addAffine, constantOf, instantiate, scaleAffine, type RegionForm, type RowLimit, type SizeAffine, type SymbolicBound,
  type SymbolicRegion, type SymbolicRegionForm,
} from "../ir/regions/region.js";

/**
 * Pass `regions`: a specialized, simplified pattern → a union of regions (disjunctive normal form). Each
 * comparison that is affine in q and k with a key coefficient of ±1 becomes a key bound; one without k
 * becomes a row bound; everything else stays a restriction (static) or a runtime test. More than
 * `maxRegions` regions fall back to one unbounded, fully masked region: always correct, just slower.
 */
export const maxRegions = 64;

/** q·q + k·k + c, with c affine in the sizes, after i = q − (K − Q) is substituted. */
export interface Linear {
  readonly q: number;
  readonly k: number;
  readonly c: SizeAffine;
}

type Atom = BoolNode;

/** The regions for given lengths: what the planner enumerates tiles with. */
export function regionsOf(body: BoolNode, sizes: Sizes): RegionForm {
  return instantiate(symbolicRegionsOf(body), sizes);
}

/**
 * The regions with lengths left as symbols (Q, K, H, KVH, L), for kernels that take the lengths at launch:
 * one compiled kernel serves every shape. `body` may still mention sizes (specialize with keepSizes).
 */
export function symbolicRegionsOf(body: BoolNode): SymbolicRegionForm {
  const conjunctions = dnf(body, false);
  if (conjunctions === undefined) return { exact: false, regions: [fallbackRegion(body)] };
  const regions: SymbolicRegion[] = [];
  for (const atoms of conjunctions) {
    const region = regionOf(atoms);
    if (region !== undefined) regions.push(region);
  }
  return { exact: true, regions };
}

function fallbackRegion(body: BoolNode): SymbolicRegion {
  return { lower: [], upper: [], rows: [], restrictions: [body], runtime: [] };
}

/** Conjunctions of atoms whose union is the node (negated when `negate`); undefined past maxRegions. */
function dnf(node: BoolNode, negate: boolean): Atom[][] | undefined {
  switch (node.kind) {
    case "true": return negate ? [] : [[]];
    case "false": return negate ? [[]] : [];
    case "not": return dnf(node.a, !negate);
    case "and": case "or": {
      const a = dnf(node.a, negate);
      const b = dnf(node.b, negate);
      if (a === undefined || b === undefined) return undefined;
      // De Morgan: a negated `and` is a union.
      if ((node.kind === "or") !== negate) return a.length + b.length > maxRegions ? undefined : [...a, ...b];
      if (a.length * b.length > maxRegions) return undefined;
      return a.flatMap((x) => b.map((y) => [...x, ...y]));
    }
    case "ite":
      return dnf(P.or(P.and(node.cond, node.then), P.and(P.not(node.cond), node.else)), negate);
    case "cmp": {
      const op = negate ? negation[node.op] : node.op;
      // `!=` between affine values is a union of two half-planes; keep it exact.
      if (op === "!=" && linear(node.a) !== undefined && linear(node.b) !== undefined) {
        return [[P.cmp("<", node.a, node.b)], [P.cmp(">", node.a, node.b)]];
      }
      return [[P.cmp(op, node.a, node.b)]];
    }
    case "inIndex": case "inBlocks": case "table":
      return [[negate ? P.not(node) : node]];
  }
}

const negation: Record<CompareOp, CompareOp> = { "<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "==" };

function regionOf(atoms: readonly Atom[]): SymbolicRegion | undefined {
  const lower: SymbolicBound[] = [];
  const upper: SymbolicBound[] = [];
  const rows: RowLimit[] = [];
  const restrictions: BoolNode[] = [];
  const runtime: BoolNode[] = [];
  for (const atom of atoms) {
    const constraints = atom.kind === "cmp" ? nonNegative(atom) : undefined;
    if (constraints === undefined) {
      (mentionsInput(atom) ? runtime : restrictions).push(atom);
      continue;
    }
    for (const l of constraints) {
      if (l.k === 0) {
        const constant = l.q === 0 ? constantOf(l.c) : undefined;
        if (constant !== undefined) {
          if (constant < 0) return undefined; // a false constant: the region is empty
        } else rows.push({ slope: l.q, offset: l.c });
      } else if (l.k === 1) lower.push({ slope: -l.q, offset: scaleAffine(l.c, -1) });
      else if (l.k === -1) upper.push({ slope: l.q, offset: l.c });
      else if (!restrictions.includes(atom)) restrictions.push(atom);
    }
  }
  return { lower: dedupe(lower), upper: dedupe(upper), rows: dedupe(rows), restrictions, runtime };
}

/** A comparison as linear forms that must be ≥ 0, or undefined when it is not affine. */
function nonNegative(atom: BoolNode & { kind: "cmp" }): Linear[] | undefined {
  const a = linear(atom.a);
  const b = linear(atom.b);
  if (a === undefined || b === undefined) return undefined;
  const d: Linear = { q: a.q - b.q, k: a.k - b.k, c: addAffine(a.c, scaleAffine(b.c, -1)) }; // a − b
  const minus: Linear = { q: -d.q, k: -d.k, c: scaleAffine(d.c, -1) };
  const less = (x: Linear): Linear => ({ ...x, c: addAffine(x.c, affine(-1)) });
  switch (atom.op) {
    case "<": return [less(minus)];
    case "<=": return [minus];
    case ">": return [less(d)];
    case ">=": return [d];
    case "==": return [d, minus];
    case "!=": return undefined;
  }
}

/** An integer expression as a linear form in q and k, or undefined when it is not one. */
export function linear(node: IntNode): Linear | undefined {
  switch (node.kind) {
    case "const": return { q: 0, k: 0, c: affine(node.value) };
    case "size": return { q: 0, k: 0, c: { ...affine(0), [node.name]: 1 } };
    case "var":
      if (node.name === "q") return { q: 1, k: 0, c: affine(0) };
      if (node.name === "k") return { q: 0, k: 1, c: affine(0) };
      if (node.name === "i") return { q: 1, k: 0, c: { ...affine(0), K: -1, Q: 1 } };
      return undefined;
    case "add": case "sub": {
      const a = linear(node.a), b = linear(node.b);
      if (a === undefined || b === undefined) return undefined;
      const s = node.kind === "add" ? 1 : -1;
      return { q: a.q + s * b.q, k: a.k + s * b.k, c: addAffine(a.c, scaleAffine(b.c, s)) };
    }
    case "neg": {
      const a = linear(node.a);
      return a && { q: -a.q, k: -a.k, c: scaleAffine(a.c, -1) };
    }
    case "mul": {
      const a = linear(node.a), b = linear(node.b);
      if (a === undefined || b === undefined) return undefined;
      // Only a plain number may scale: a size times a position is not affine with numeric slopes.
      const ca = a.q === 0 && a.k === 0 ? constantOf(a.c) : undefined;
      const cb = b.q === 0 && b.k === 0 ? constantOf(b.c) : undefined;
      if (ca !== undefined) return { q: ca * b.q, k: ca * b.k, c: scaleAffine(b.c, ca) };
      if (cb !== undefined) return { q: cb * a.q, k: cb * a.k, c: scaleAffine(a.c, cb) };
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

function dedupe<B extends { slope: number; offset: SizeAffine }>(bounds: B[]): B[] {
  const seen = new Set<string>();
  return bounds.filter((b) => {
    const key = `${b.slope},${JSON.stringify(b.offset)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
