import fc from "fast-check";
import type { Arg, BinaryOp, EstimateClause, Expr, FileAst, Ident, Item, ParamDecl } from "../grammar/ast.js";

/** Random syntax trees (not necessarily well typed) and random well-typed pattern sources for property tests. */

const span = { file: "random.stip", start: 0, end: 0 };
const keywords = new Set(["pattern", "import", "input", "if", "then", "else", "in", "int", "estimate"]);

export const identifier: fc.Arbitrary<string> = fc
  .stringMatching(/^[a-z_][a-z0-9_]{0,6}$/)
  .filter((name) => !keywords.has(name));

const ident: fc.Arbitrary<Ident> = identifier.map((name) => ({ name, span }));
const binaryOps: readonly BinaryOp[] = ["+", "-", "*", "/", "%", "<", "<=", ">", ">=", "==", "!=", "&", "|"];

export const exprAst: fc.Arbitrary<Expr> = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((value): Expr => ({ kind: "int", value, span })),
    fc.integer({ min: 0, max: 10 ** 6 }).map((thousandths): Expr => ({ kind: "decimal", value: thousandths / 1000, span })),
    identifier.map((name): Expr => ({ kind: "name", name, span })),
    fc.record({ op: fc.constantFrom("-" as const, "!" as const), operand: tie("expr") }).map((r): Expr => ({ kind: "unary", ...r, span })),
    fc.record({ op: fc.constantFrom(...binaryOps), left: tie("expr"), right: tie("expr") }).map((r): Expr => ({ kind: "binary", ...r, span })),
    fc.record({
      callee: ident,
      args: fc.array(fc.record({ name: fc.option(ident, { nil: undefined }), value: tie("expr") }), { maxLength: 3 }),
    }).map((r): Expr => ({
      kind: "call", callee: r.callee, span,
      args: r.args.map((a) => (a.name === undefined ? { value: a.value } : { name: a.name, value: a.value })),
    })),
    fc.record({ target: ident, indices: fc.array(tie("expr"), { minLength: 1, maxLength: 2 }) }).map((r): Expr => ({ kind: "index", ...r, span })),
    fc.record({ element: tie("expr"), set: tie("expr") }).map((r): Expr => ({ kind: "in", ...r, span })),
    fc.array(tie("expr"), { minLength: 2, maxLength: 3 }).map((elements): Expr => ({ kind: "tuple", elements, span })),
    fc.record({ cond: tie("expr"), then: tie("expr"), else: tie("expr") }).map((r): Expr => ({ kind: "if", ...r, span })),
  ),
})).expr;

const signedInt = fc.integer({ min: -1000, max: 1000 }).map((value) => ({ value, span }));

const paramDecl: fc.Arbitrary<ParamDecl> = fc.oneof(
  fc.record({
    name: ident,
    range: fc.option(fc.record({ min: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }), max: fc.option(fc.integer({ min: 5, max: 99 }), { nil: undefined }) }), { nil: undefined }),
    default: fc.option(signedInt, { nil: undefined }),
  }).map((r): ParamDecl => ({
    kind: "intParam", name: r.name, span,
    ...(r.range === undefined ? {} : { range: { ...(r.range.min === undefined ? {} : { min: r.range.min }), ...(r.range.max === undefined ? {} : { max: r.range.max }), span } }),
    ...(r.default === undefined ? {} : { default: r.default }),
  })),
  fc.record({
    name: ident,
    kind: fc.oneof(fc.constantFrom("index", "blocks", "ids", "bool"), identifier),
    dims: fc.array(fc.constantFrom("H", "KVH", "L", "K"), { minLength: 1, maxLength: 2 }),
    blockSize: fc.option(fc.tuple(exprAst, exprAst), { nil: undefined }),
  }).map((r): ParamDecl => ({
    kind: "inputParam", name: r.name, span,
    type: {
      kind: { name: r.kind, span }, span,
      dims: r.dims.map((name) => ({ name, span })),
      ...(r.blockSize === undefined ? {} : { blockSize: r.blockSize }),
    },
  })),
);

const args: fc.Arbitrary<Arg[]> = fc.array(fc.record({ name: fc.option(ident, { nil: undefined }), value: exprAst }), { maxLength: 3 })
  .map((list) => list.map((a) => (a.name === undefined ? { value: a.value } : { name: a.name, value: a.value })));

const estimateClause: fc.Arbitrary<EstimateClause> = fc.record({ name: ident, args }).map((r) => ({ kind: "estimate", ...r, span }));

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.stringMatching(/^[a-z_./]{1,12}$/).map((path): Item => ({ kind: "import", path, span })),
  fc.record({ name: ident, params: fc.array(paramDecl, { maxLength: 3 }), body: exprAst, estimate: fc.option(estimateClause, { nil: undefined }) })
    .map(({ estimate, ...r }): Item => ({ kind: "pattern", ...r, ...(estimate === undefined ? {} : { estimate }), span })),
);

export const fileAst: fc.Arbitrary<FileAst> = fc.array(item, { maxLength: 4 }).map((items) => ({ kind: "file", path: "random.stip", items }));

/** Removes spans so trees can be compared structurally. */
export function withoutSpans(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSpans);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "span").map(([key, v]) => [key, withoutSpans(v)]));
  }
  return value;
}

/**
 * Well-typed static pattern bodies over q, k, i, sizes and small constants: affine comparisons, modular
 * lines, boolean structure and `if`. Used wherever a test needs "any pattern", not only the examples.
 */
export const staticBody: fc.Arbitrary<string> = fc.letrec<{ cond: string; int: string }>((tie) => ({
  int: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom("q", "k", "i", "q - k", "k - q", "K - q", "Q - i", "K", "Q"),
    fc.integer({ min: -8, max: 40 }).map(String),
    fc.tuple(tie("int"), fc.constantFrom("+", "-"), tie("int")).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(tie("int"), fc.integer({ min: -3, max: 3 })).map(([a, c]) => `(${a}) * ${c}`),
    fc.tuple(tie("int"), fc.constantFrom("/", "%"), fc.integer({ min: 1, max: 9 })).map(([a, op, d]) => `(${a}) ${op} ${d}`),
    fc.tuple(fc.constantFrom("min", "max"), tie("int"), tie("int")).map(([f, a, b]) => `${f}(${a}, ${b})`),
  ),
  cond: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom("causal", "full", "none"),
    fc.tuple(tie("int"), fc.constantFrom("<", "<=", ">", ">=", "==", "!="), tie("int")).map(([a, op, b]) => `${a} ${op} ${b}`),
    fc.tuple(tie("cond"), fc.constantFrom("&", "|"), tie("cond")).map(([a, op, b]) => `(${a}) ${op} (${b})`),
    tie("cond").map((a) => `!(${a})`),
    fc.tuple(tie("cond"), tie("cond"), tie("cond")).map(([c, a, b]) => `(if ${c} then ${a} else ${b})`),
  ),
})).cond;

/** Lengths with Q ≤ K, including 1 and lengths that are multiples of nothing in particular. */
export const lengths = (maxLength: number): fc.Arbitrary<{ qLen: number; kvLen: number }> =>
  fc.integer({ min: 1, max: maxLength }).chain((kvLen) =>
    fc.oneof(fc.constant(kvLen), fc.constant(1), fc.integer({ min: 1, max: kvLen })).map((qLen) => ({ qLen, kvLen })),
  );
