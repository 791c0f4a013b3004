import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { Call, Expr, FileAst, InputParamDecl, IntParamDecl, PatternDecl } from "../grammar/ast.js";
import type { Interval } from "../ir/pattern/analysis.js";
import * as P from "../ir/pattern/nodes.js";
import type { InputRef, IntNode } from "../ir/pattern/nodes.js";
import type { InputInfo, ParamInfo, PatternDef } from "../ir/pattern/pattern.js";
import { checkEstimate } from "./check-estimate.js";
import { simplify } from "./simplify.js";
import { ExprChecker } from "./check-expr.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { reservedNames, type ProgramContext, type Scope } from "./check-scope.js";

/**
 * Pass `check`: AST → Pattern IR. Resolves names across files, checks parameter declarations, runtime input
 * types, expression types and analysability, inlines pattern calls, and reports every problem it finds
 * (it never stops at the first). Patterns with errors are left out of the result.
 */
export interface CheckedProgram {
  readonly patterns: ReadonlyMap<string, PatternDef>;
  /** Declaration order, across files in load order. */
  readonly order: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

export function checkProgram(files: readonly FileAst[]): CheckedProgram {
  const diagnostics: Diagnostic[] = [];
  const report = (d: Diagnostic): void => void diagnostics.push(d);
  const declarations = collectPatterns(files, report);
  const recursive = findRecursion(declarations, report);
  const results = new Map<string, PatternDef | undefined>();
  const program: ProgramContext = {
    patterns: declarations,
    recursive,
    checkedPattern: (name) => {
      if (!results.has(name)) {
        results.set(name, undefined); // guards re-entry; recursion was rejected above
        const decl = declarations.get(name);
        results.set(name, decl === undefined || recursive.has(name) ? undefined : checkPattern(decl, program, report));
      }
      return results.get(name);
    },
  };
  const order = [...declarations.keys()];
  for (const name of order) program.checkedPattern(name);
  const patterns = new Map<string, PatternDef>();
  for (const name of order) {
    const def = results.get(name);
    if (def !== undefined) patterns.set(name, def);
  }
  return { patterns, order, diagnostics };
}

function collectPatterns(files: readonly FileAst[], report: (d: Diagnostic) => void): Map<string, PatternDecl> {
  const declarations = new Map<string, PatternDecl>();
  for (const file of files) {
    for (const item of file.items) {
      if (item.kind !== "pattern") continue;
      const name = item.name.name;
      const earlier = declarations.get(name);
      if (reservedNames.has(name)) {
        report(diagnostic("STP106", `pattern name \`${name}\` is a built-in name`, { span: item.name.span, hint: "choose another name" }));
      } else if (earlier !== undefined) {
        report(diagnostic("STP104", `pattern \`${name}\` is declared twice`, {
          span: item.name.span, hint: "rename one of them", related: [{ span: earlier.name.span, message: "first declared here" }],
        }));
      } else {
        declarations.set(name, item);
      }
    }
  }
  return declarations;
}

/** Finds call cycles between patterns on the syntax tree, before any inlining could loop. */
function findRecursion(declarations: ReadonlyMap<string, PatternDecl>, report: (d: Diagnostic) => void): Set<string> {
  const recursive = new Set<string>();
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]): void => {
    const decl = declarations.get(name);
    if (decl === undefined || state.get(name) === "done") return;
    state.set(name, "visiting");
    for (const call of callsIn(decl.body, declarations)) {
      const target = call.callee.name;
      if (state.get(target) === "visiting") {
        const cycle = [...path.slice(path.indexOf(target)), name, target];
        for (const member of cycle) recursive.add(member);
        report(diagnostic("STP107", `pattern \`${name}\` calls itself through ${cycle.map((c) => `\`${c}\``).join(" → ")}`, {
          span: call.callee.span, hint: "patterns are expanded at compile time, so they cannot recurse; write the kept set without the cycle",
        }));
      } else visit(target, [...path, name]);
    }
    state.set(name, "done");
  };
  for (const name of declarations.keys()) visit(name, []);
  return recursive;
}

function callsIn(expr: Expr, declarations: ReadonlyMap<string, PatternDecl>): Call[] {
  switch (expr.kind) {
    case "int": case "decimal": return [];
    case "name": return declarations.has(expr.name) ? [{ kind: "call", callee: { name: expr.name, span: expr.span }, args: [], span: expr.span }] : [];
    case "unary": return callsIn(expr.operand, declarations);
    case "binary": return [...callsIn(expr.left, declarations), ...callsIn(expr.right, declarations)];
    case "call": return [...(declarations.has(expr.callee.name) ? [expr] : []), ...expr.args.flatMap((a) => callsIn(a.value, declarations))];
    case "index": return expr.indices.flatMap((e) => callsIn(e, declarations));
    case "in": return [...callsIn(expr.element, declarations), ...callsIn(expr.set, declarations)];
    case "tuple": return expr.elements.flatMap((e) => callsIn(e, declarations));
    case "if": return [...callsIn(expr.cond, declarations), ...callsIn(expr.then, declarations), ...callsIn(expr.else, declarations)];
  }
}

function checkPattern(decl: PatternDecl, program: ProgramContext, report: (d: Diagnostic) => void): PatternDef | undefined {
  let errors = 0;
  const counted = (d: Diagnostic): void => {
    if (d.severity === "error") errors++;
    report(d);
  };
  const params: ParamInfo[] = [];
  const inputs: InputInfo[] = [];
  const ints = new Map<string, IntNode>();
  const inputRefs = new Map<string, InputRef>();
  const paramRanges = new Map<string, Interval>();
  const seen = new Map<string, IntParamDecl | InputParamDecl>();
  const expressions = new ExprChecker(program);
  const scope: Scope = { decl, ints, inputs: inputRefs, paramRanges, report: counted };

  for (const declared of decl.params) {
    const name = declared.name.name;
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      counted(diagnostic("STP105", `parameter \`${name}\` is declared twice`, {
        span: declared.name.span, hint: "rename one of them", related: [{ span: earlier.name.span, message: "first declared here" }],
      }));
      continue;
    }
    seen.set(name, declared);
    if (reservedNames.has(name) || program.patterns.has(name)) {
      const what = reservedNames.has(name) ? "a built-in name" : "the name of a pattern";
      counted(diagnostic("STP106", `parameter \`${name}\` shadows ${what}`, { span: declared.name.span, hint: "choose another name" }));
      continue;
    }
    if (declared.kind === "intParam") {
      const info = checkIntParam(declared, counted);
      if (info === undefined) continue;
      params.push(info);
      ints.set(name, P.param(name));
      paramRanges.set(name, [info.min ?? -Infinity, info.max ?? Infinity]);
    }
  }
  // Inputs are read after the integer parameters: a block size may name a parameter.
  for (const declared of decl.params) {
    if (declared.kind !== "inputParam" || seen.get(declared.name.name) !== declared || reservedNames.has(declared.name.name)) continue;
    const ref = checkInputType(declared, expressions, scope);
    if (ref === undefined) continue;
    inputs.push({ ref, span: declared.span });
    inputRefs.set(ref.name, ref);
  }
  const body = expressions.bool(decl.body, scope);
  const estimator = decl.estimate === undefined ? undefined : checkEstimate(decl.estimate, expressions, scope);
  if (body === undefined || errors > 0) return undefined;
  if (simplify(body) === P.FALSE) {
    report(diagnostic("STP401", `pattern \`${decl.name.name}\` keeps no pair, whatever the lengths and parameters`, {
      span: decl.name.span, hint: "its kernels would write zeros everywhere: check the conditions joined by `&`",
    }));
  }
  return { name: decl.name.name, span: decl.name.span, params, inputs, body, ...(estimator === undefined ? {} : { estimator }) };
}

function checkIntParam(declared: IntParamDecl, report: (d: Diagnostic) => void): ParamInfo | undefined {
  const { range } = declared;
  const min = range?.min;
  const max = range?.max;
  if (range !== undefined && min !== undefined && max !== undefined && min > max) {
    report(diagnostic("STP208", `the range of \`${declared.name.name}\` is empty (${min} > ${max})`, { span: range.span, hint: "write `int(min..max)` with min ≤ max" }));
    return undefined;
  }
  const value = declared.default?.value;
  if (declared.default !== undefined && value !== undefined && ((min !== undefined && value < min) || (max !== undefined && value > max))) {
    report(diagnostic("STP208", `the default ${value} of \`${declared.name.name}\` is outside its range ${min ?? ""}..${max ?? ""}`, {
      span: declared.default.span, hint: "choose a default inside the declared range",
    }));
    return undefined;
  }
  return {
    name: declared.name.name,
    span: declared.span,
    ...(value === undefined ? {} : { default: value }),
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
  };
}

const inputKinds: readonly P.InputKind[] = ["index", "blocks", "ids", "bool"];

const allowedAxes: Record<P.InputKind, readonly P.Axis[]> = {
  index: ["H", "KVH", "L"],
  blocks: ["H", "KVH", "L"],
  bool: ["H", "KVH", "L"],
  ids: ["K"],
};

function checkInputType(declared: InputParamDecl, expressions: ExprChecker, scope: Scope): InputRef | undefined {
  const { type } = declared;
  const kind = inputKinds.find((k) => k === type.kind.name);
  if (kind === undefined) {
    scope.report(diagnostic("STP205", `unknown input type \`${type.kind.name}\``, {
      span: type.kind.span, hint: didYouMean(type.kind.name, inputKinds) ?? "input types are index[...], blocks[...](rows, cols), ids[K] and bool[...]",
    }));
    return undefined;
  }
  const allowed = allowedAxes[kind];
  const dims: P.Axis[] = [];
  for (const dim of type.dims) {
    const axis = allowed.find((a) => a === dim.name);
    if (axis === undefined || dims.includes(axis)) {
      scope.report(diagnostic("STP205", `\`${dim.name}\` is not an axis a \`${kind}\` input can be laid out over`, {
        span: dim.span, hint: kind === "ids" ? "per-position ids are declared `ids[K]`" : `use each of ${allowed.join(", ")} at most once`,
      }));
      return undefined;
    }
    dims.push(axis);
  }
  if (kind === "ids" && dims.length !== 1) {
    scope.report(diagnostic("STP205", "per-position ids are declared `ids[K]`", { span: type.span, hint: "one id per key position" }));
    return undefined;
  }
  if ((kind === "blocks") !== (type.blockSize !== undefined)) {
    scope.report(diagnostic("STP205", kind === "blocks" ? "a block set needs its block size" : "only block sets take a block size", {
      span: type.span, hint: "declare block sets as `blocks[H](ROWS, COLS)`, e.g. `blocks[H](64, 64)`",
    }));
    return undefined;
  }
  let blockSize: readonly [IntNode, IntNode] | undefined;
  if (type.blockSize !== undefined) {
    const [rowsExpr, colsExpr] = type.blockSize;
    const rows = expressions.int(rowsExpr, scope);
    const cols = expressions.int(colsExpr, scope);
    if (rows === undefined || cols === undefined) return undefined;
    if (!expressions.checkDivisor(rows, rowsExpr.span, scope) || !expressions.checkDivisor(cols, colsExpr.span, scope)) return undefined;
    blockSize = [rows, cols];
  }
  return { name: declared.name.name, kind, dims, ...(blockSize === undefined ? {} : { blockSize }) };
}
