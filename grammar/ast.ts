import type { Span } from "../diagnostics/source.js";

/**
 * The syntax tree of a `.stip` file, exactly as written (no names resolved, no types checked). Every node
 * carries the span it came from so later stages can point at it. Parentheses leave no node: the printer puts
 * back the ones precedence needs.
 */
export interface FileAst {
  readonly kind: "file";
  readonly path: string;
  readonly items: readonly Item[];
}

export type Item = ImportDecl | PatternDecl;

export interface ImportDecl {
  readonly kind: "import";
  readonly path: string;
  readonly span: Span;
}

export interface Ident {
  readonly name: string;
  readonly span: Span;
}

export interface PatternDecl {
  readonly kind: "pattern";
  readonly name: Ident;
  readonly params: readonly ParamDecl[];
  readonly body: Expr;
  /** `estimate vertical_slash(vertical, slash, last_q = 64)`: how to choose the runtime inputs from q and k. */
  readonly estimate?: EstimateClause;
  readonly span: Span;
}

/** The estimator a pattern names: positional arguments name the inputs it writes, named ones set it. */
export interface EstimateClause {
  readonly kind: "estimate";
  readonly name: Ident;
  readonly args: readonly Arg[];
  readonly span: Span;
}

export type ParamDecl = IntParamDecl | InputParamDecl;

/** `window: int(1..) = 1024`: an integer fixed when the kernel is compiled or launched. */
export interface IntParamDecl {
  readonly kind: "intParam";
  readonly name: Ident;
  readonly range?: IntRange;
  readonly default?: SignedInt;
  readonly span: Span;
}

export interface IntRange {
  readonly min?: number;
  readonly max?: number;
  readonly span: Span;
}

export interface SignedInt {
  readonly value: number;
  readonly span: Span;
}

/** `input vertical: index[H]`: data that arrives with the tensors at run time. */
export interface InputParamDecl {
  readonly kind: "inputParam";
  readonly name: Ident;
  readonly type: InputTypeAst;
  readonly span: Span;
}

export interface InputTypeAst {
  /** `index`, `blocks`, `ids` or `bool`, as written (the checker rejects other names). */
  readonly kind: Ident;
  /** The axes the input is laid out over, e.g. `[H]` or `[L, KVH]`. */
  readonly dims: readonly Ident[];
  /** Only for `blocks[H](rows, cols)`: the block sizes over query rows and keys. */
  readonly blockSize?: readonly [Expr, Expr];
  readonly span: Span;
}

export type BinaryOp = "+" | "-" | "*" | "/" | "%" | "<" | "<=" | ">" | ">=" | "==" | "!=" | "&" | "|";
export type UnaryOp = "-" | "!";

export type Expr = IntLit | DecimalLit | NameRef | Unary | Binary | Call | IndexExpr | InExpr | Tuple | IfExpr;

export interface IntLit {
  readonly kind: "int";
  readonly value: number;
  readonly span: Span;
}

/** `0.9`: only estimator settings that are fractions (XAttention's mass threshold) take one. */
export interface DecimalLit {
  readonly kind: "decimal";
  readonly value: number;
  readonly span: Span;
}

export interface NameRef {
  readonly kind: "name";
  readonly name: string;
  readonly span: Span;
}

export interface Unary {
  readonly kind: "unary";
  readonly op: UnaryOp;
  readonly operand: Expr;
  readonly span: Span;
}

export interface Binary {
  readonly kind: "binary";
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

export interface Arg {
  readonly name?: Ident;
  readonly value: Expr;
}

/** A pattern call `a_shape(sink, window = 8)` or a built-in function `min(a, b)`. */
export interface Call {
  readonly kind: "call";
  readonly callee: Ident;
  readonly args: readonly Arg[];
  readonly span: Span;
}

/** `vertical[h]`, `retrieval[l, kvh]`, `doc[q]`. */
export interface IndexExpr {
  readonly kind: "index";
  readonly target: Ident;
  readonly indices: readonly Expr[];
  readonly span: Span;
}

/** `k in vertical[h]`, `(i / 64, k / 64) in blocks[h]`. */
export interface InExpr {
  readonly kind: "in";
  readonly element: Expr;
  readonly set: Expr;
  readonly span: Span;
}

/** `(a, b)`: only meaningful as the left side of `in` against a block set. */
export interface Tuple {
  readonly kind: "tuple";
  readonly elements: readonly Expr[];
  readonly span: Span;
}

export interface IfExpr {
  readonly kind: "if";
  readonly cond: Expr;
  readonly then: Expr;
  readonly else: Expr;
  readonly span: Span;
}
