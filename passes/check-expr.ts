import { diagnostic } from "../diagnostics/diagnostic.js";
import type { Span } from "../diagnostics/source.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { Call, Expr, IndexExpr, InExpr, PatternDecl } from "../grammar/ast.js";
import { dependsOnPosition, intervalOf, isCompileConstant } from "../ir/pattern/analysis.js";
import * as P from "../ir/pattern/nodes.js";
import type { BoolNode, InputRef, IntNode } from "../ir/pattern/nodes.js";
import { builtinFunctions, builtinPatterns, sizeNames, variableNames, type ProgramContext, type Scope } from "./check-scope.js";

/**
 * Expression checking: AST expressions to Pattern IR, with types (integer or condition), the analysability
 * rules (products need a position-free factor, divisors are positive compile-time constants) and runtime
 * input shapes. Returns undefined after reporting an error, so one mistake yields one diagnostic.
 */
export class ExprChecker {
  constructor(private readonly program: ProgramContext) {}

  bool(expr: Expr, scope: Scope): BoolNode | undefined {
    switch (expr.kind) {
      case "name": {
        if (expr.name === "causal") return P.causal();
        if (expr.name === "full") return P.TRUE;
        if (expr.name === "none") return P.FALSE;
        if (this.program.patterns.has(expr.name)) return this.call({ kind: "call", callee: { name: expr.name, span: expr.span }, args: [], span: expr.span }, scope);
        if (scope.inputs.get(expr.name)?.kind === "bool") return this.inputMisuse(expr.name, expr.span, scope);
        if (this.isIntName(expr.name, scope)) return this.expected("condition", "integer", expr.span, scope);
        return this.unknownName(expr.name, expr.span, scope);
      }
      case "int":
        return this.expected("condition", "integer", expr.span, scope);
      case "decimal":
        return this.decimalMisuse(expr.span, scope);
      case "unary": {
        if (expr.op === "-") return this.expected("condition", "integer", expr.span, scope);
        const operand = this.bool(expr.operand, scope);
        return operand && P.not(operand);
      }
      case "binary":
        return this.boolBinary(expr, scope);
      case "call":
        if ((builtinFunctions as readonly string[]).includes(expr.callee.name)) return this.expected("condition", "integer", expr.span, scope);
        return this.call(expr, scope);
      case "index":
        return this.tableLookup(expr, scope);
      case "in":
        return this.membership(expr, scope);
      case "tuple":
        return this.report(scope, "STP201", "a tuple is not a condition", expr.span, "tuples only stand left of `in`: `(i / 64, k / 64) in blocks[h]`");
      case "if": {
        const cond = this.bool(expr.cond, scope);
        const then = this.bool(expr.then, scope);
        const otherwise = this.bool(expr.else, scope);
        return cond && then && otherwise && P.ite(cond, then, otherwise);
      }
    }
  }

  int(expr: Expr, scope: Scope): IntNode | undefined {
    switch (expr.kind) {
      case "int":
        return P.int(expr.value);
      case "decimal":
        return this.decimalMisuse(expr.span, scope);
      case "name": {
        const bound = scope.ints.get(expr.name);
        if (bound !== undefined) return bound;
        if ((variableNames as readonly string[]).includes(expr.name)) return P.variable(expr.name as P.VarName);
        if ((sizeNames as readonly string[]).includes(expr.name)) return P.size(expr.name as P.SizeName);
        if (scope.inputs.has(expr.name)) return this.inputMisuse(expr.name, expr.span, scope);
        if ((builtinPatterns as readonly string[]).includes(expr.name) || this.program.patterns.has(expr.name)) {
          return this.expected("integer", "condition", expr.span, scope);
        }
        return this.unknownName(expr.name, expr.span, scope);
      }
      case "unary": {
        if (expr.op === "!") return this.expected("integer", "condition", expr.span, scope);
        const operand = this.int(expr.operand, scope);
        return operand && P.neg(operand);
      }
      case "binary":
        return this.intBinary(expr, scope);
      case "call":
        if ((builtinFunctions as readonly string[]).includes(expr.callee.name)) return this.minMax(expr, scope);
        if (this.program.patterns.has(expr.callee.name)) return this.expected("integer", "condition", expr.span, scope);
        return this.unknownCallee(expr, scope);
      case "index":
        return this.idsLookup(expr, scope);
      case "in": case "if":
        return this.expected("integer", "condition", expr.span, scope);
      case "tuple":
        return this.report(scope, "STP201", "a tuple is not an integer", expr.span, "tuples only stand left of `in`: `(i / 64, k / 64) in blocks[h]`");
    }
  }

  private boolBinary(expr: Expr & { kind: "binary" }, scope: Scope): BoolNode | undefined {
    switch (expr.op) {
      case "&": case "|": {
        const a = this.bool(expr.left, scope);
        const b = this.bool(expr.right, scope);
        return a && b && (expr.op === "&" ? P.and(a, b) : P.or(a, b));
      }
      case "<": case "<=": case ">": case ">=": case "==": case "!=":
        return this.comparison(expr, expr.op, scope);
      default:
        return this.expected("condition", "integer", expr.span, scope);
    }
  }

  private comparison(expr: Expr & { kind: "binary" }, op: P.CompareOp, scope: Scope): BoolNode | undefined {
    const equality = op === "==" || op === "!=";
    const a = equality && expr.left.kind === "index" ? this.idsLookup(expr.left, scope, true) : this.int(expr.left, scope);
    const b = equality && expr.right.kind === "index" ? this.idsLookup(expr.right, scope, true) : this.int(expr.right, scope);
    return a && b && P.cmp(op, a, b);
  }

  private intBinary(expr: Expr & { kind: "binary" }, scope: Scope): IntNode | undefined {
    switch (expr.op) {
      case "+": case "-": {
        const a = this.int(expr.left, scope);
        const b = this.int(expr.right, scope);
        return a && b && P.intBinary(expr.op === "+" ? "add" : "sub", a, b);
      }
      case "*": {
        const a = this.int(expr.left, scope);
        const b = this.int(expr.right, scope);
        if (a === undefined || b === undefined) return undefined;
        if (dependsOnPosition(a) && dependsOnPosition(b)) {
          return this.report(scope, "STP202", "this product multiplies two position-dependent values", expr.span,
            "one factor of `*` must be free of q, k and i (a literal, parameter, size, head or layer), so the compiler can plan tiles exactly");
        }
        return P.intBinary("mul", a, b);
      }
      case "/": case "%": {
        const a = this.int(expr.left, scope);
        const b = this.int(expr.right, scope);
        if (a === undefined || b === undefined) return undefined;
        return this.checkDivisor(b, expr.right.span, scope) ? P.intBinary(expr.op === "/" ? "div" : "mod", a, b) : undefined;
      }
      default:
        return this.expected("integer", "condition", expr.span, scope);
    }
  }

  /**
   * A divisor must be a compile-time constant. A literal or a lone parameter must be provably positive now;
   * a compound divisor (`group - keep + 1`) is checked when parameter values are bound.
   */
  checkDivisor(divisor: IntNode, span: Span, scope: Scope): boolean {
    if (!isCompileConstant(divisor)) {
      this.report(scope, "STP203", "the divisor depends on positions, heads or layers", span,
        "divide only by literals, parameters and sizes (Q, K, H, KVH, L)");
      return false;
    }
    const [lo, hi] = intervalOf(divisor, scope.paramRanges);
    if (hi < 1) {
      this.report(scope, "STP204", `the divisor is never positive (it is at most ${hi})`, span, "`/` and `%` need a divisor of at least 1");
      return false;
    }
    if (lo < 1 && (divisor.kind === "param" || divisor.kind === "const")) {
      const hint = divisor.kind === "param"
        ? `declare the parameter with a positive range: \`${divisor.name}: int(1..)\``
        : "`/` and `%` need a divisor of at least 1";
      this.report(scope, "STP204", "this divisor may be zero or negative", span, hint);
      return false;
    }
    return true;
  }

  private minMax(expr: Call, scope: Scope): IntNode | undefined {
    if (expr.args.length !== 2 || expr.args.some((a) => a.name !== undefined)) {
      return this.report(scope, "STP103", `\`${expr.callee.name}\` takes two positional arguments`, expr.span, `write \`${expr.callee.name}(a, b)\``);
    }
    const [first, second] = expr.args;
    const a = first && this.int(first.value, scope);
    const b = second && this.int(second.value, scope);
    return a && b && P.intBinary(expr.callee.name === "min" ? "min" : "max", a, b);
  }

  /** `doc[q]`: a per-position id, allowed only as an operand of `==` or `!=`. */
  private idsLookup(expr: IndexExpr, scope: Scope, inEquality = false): IntNode | undefined {
    const input = this.inputOf(expr.target.name, expr.target.span, scope);
    if (input === undefined) return undefined;
    if (input.kind !== "ids") {
      return input.kind === "bool"
        ? this.expected("integer", "condition", expr.span, scope)
        : this.inputMisuse(expr.target.name, expr.span, scope);
    }
    if (!inEquality) {
      return this.report(scope, "STP206", `per-position ids \`${input.name}\` can only be compared with \`==\` or \`!=\``, expr.span,
        `write \`${input.name}[q] == ${input.name}[k]\``);
    }
    const [position] = expr.indices;
    const at = expr.indices.length === 1 && position !== undefined ? this.int(position, scope) : undefined;
    if (at === undefined || at.kind !== "var" || (at.name !== "q" && at.name !== "k")) {
      return this.report(scope, "STP205", `\`${input.name}\` is indexed by one position, \`q\` or \`k\``, expr.span,
        `write \`${input.name}[q]\` or \`${input.name}[k]\``);
    }
    return P.lookup(input, at);
  }

  private tableLookup(expr: IndexExpr, scope: Scope): BoolNode | undefined {
    const input = this.inputOf(expr.target.name, expr.target.span, scope);
    if (input === undefined) return undefined;
    if (input.kind === "ids") return this.expected("condition", "integer", expr.span, scope);
    if (input.kind !== "bool") return this.inputMisuse(expr.target.name, expr.span, scope);
    const indices = this.axisIndices(input, expr, scope);
    return indices && P.table(input, indices);
  }

  private membership(expr: InExpr, scope: Scope): BoolNode | undefined {
    if (expr.set.kind !== "index") {
      return this.report(scope, "STP205", "the right side of `in` must be a runtime index list or block set", expr.set.span,
        "for example `k in vertical[h]` or `(i / 64, k / 64) in blocks[h]`");
    }
    const set = expr.set;
    const input = this.inputOf(set.target.name, set.target.span, scope);
    if (input === undefined) return undefined;
    const indices = this.axisIndices(input, set, scope);
    if (indices === undefined) return undefined;
    switch (input.kind) {
      case "index": {
        if (expr.element.kind === "tuple") {
          return this.report(scope, "STP205", `\`${input.name}\` is an index list: test one integer against it`, expr.element.span, `write \`k in ${input.name}[...]\``);
        }
        const value = this.int(expr.element, scope);
        return value && P.inIndex(input, indices, value);
      }
      case "blocks": {
        if (expr.element.kind !== "tuple" || expr.element.elements.length !== 2) {
          return this.report(scope, "STP205", `\`${input.name}\` is a block set: test a (row block, key block) pair against it`, expr.element.span,
            `write \`(i / B, k / B) in ${input.name}[...]\``);
        }
        const [rowExpr, colExpr] = expr.element.elements;
        const row = rowExpr && this.int(rowExpr, scope);
        const col = colExpr && this.int(colExpr, scope);
        return row && col && P.inBlocks(input, indices, row, col);
      }
      case "ids": case "bool":
        return this.report(scope, "STP205", `\`${input.name}\` is not a set: \`in\` needs an \`index\` or \`blocks\` input`, set.span,
          input.kind === "ids" ? `compare ids instead: \`${input.name}[q] == ${input.name}[k]\`` : `use the table as a condition: \`${input.name}[...]\``);
    }
  }

  /** The indices of an input must name its axes in order: H → h, KVH → kvh, L → l. */
  private axisIndices(input: InputRef, expr: IndexExpr, scope: Scope): IntNode[] | undefined {
    const expected = input.dims.map(axisVariable);
    const written = expr.indices.map((index) => (index.kind === "name" ? index.name : undefined));
    if (expected.length !== written.length || expected.some((name, at) => name !== written[at])) {
      return this.report(scope, "STP205", `\`${input.name}\` is declared \`${input.kind}[${input.dims.join(", ")}]\`, so it is indexed \`${input.name}[${expected.join(", ")}]\``,
        expr.span, `each axis is indexed by its own variable: H by h, KVH by kvh, L by l`);
    }
    return expected.map((name) => P.variable(name as P.VarName));
  }

  /** Inlines a pattern call: arguments bind the callee's parameters, then its body is read in that scope. */
  call(expr: Call, scope: Scope): BoolNode | undefined {
    const callee = this.program.patterns.get(expr.callee.name);
    if (callee === undefined) return this.unknownCallee(expr, scope);
    if (this.program.recursive.has(callee.name.name)) return undefined;
    const bound = this.bindArguments(expr, callee, scope);
    if (bound === undefined) return undefined;
    if (this.program.checkedPattern(callee.name.name) === undefined) return undefined;
    const calleeScope: Scope = {
      decl: callee,
      ints: bound.ints,
      inputs: bound.inputs,
      paramRanges: scope.paramRanges,
      // The callee checks on its own, so an error now comes from these arguments: report it at the call.
      report: (d) =>
        scope.report({
          ...d,
          message: `in this call of \`${callee.name.name}\`: ${d.message}`,
          span: expr.span,
          related: d.span === undefined ? [] : [{ span: d.span, message: "the failing expression in the callee" }],
        }),
    };
    return this.bool(callee.body, calleeScope);
  }

  private bindArguments(expr: Call, callee: PatternDecl, scope: Scope): { ints: Map<string, IntNode>; inputs: Map<string, InputRef> } | undefined {
    const ints = new Map<string, IntNode>();
    const inputs = new Map<string, InputRef>();
    const given = new Map<string, Expr>();
    const names = callee.params.map((p) => p.name.name);
    const signature = `${callee.name.name}(${names.join(", ")})`;
    let ok = true;
    expr.args.forEach((arg, position) => {
      const name = arg.name?.name ?? names[position];
      if (name === undefined) {
        this.report(scope, "STP103", `\`${callee.name.name}\` takes ${names.length} argument${names.length === 1 ? "" : "s"}, ${expr.args.length} given`, arg.value.span, `its signature is \`${signature}\``);
        ok = false;
      } else if (!names.includes(name) || given.has(name)) {
        const hint = given.has(name) ? `\`${name}\` is already given` : (didYouMean(name, names) ?? `its signature is \`${signature}\``);
        this.report(scope, "STP108", `\`${callee.name.name}\` has no parameter \`${name}\` here`, arg.name?.span ?? arg.value.span, hint);
        ok = false;
      } else {
        given.set(name, arg.value);
      }
    });
    if (!ok) return undefined;
    for (const declared of callee.params) {
      const value = given.get(declared.name.name);
      if (declared.kind === "intParam") {
        if (value === undefined) {
          if (declared.default === undefined) {
            this.report(scope, "STP103", `missing argument \`${declared.name.name}\` in this call of \`${callee.name.name}\``, expr.span, `its signature is \`${signature}\``);
            ok = false;
          } else ints.set(declared.name.name, P.int(declared.default.value));
          continue;
        }
        const node = this.int(value, scope);
        if (node === undefined) ok = false;
        else ints.set(declared.name.name, node);
        continue;
      }
      // A runtime input is passed by naming one of the caller's inputs of the same kind and axes.
      const passed = value?.kind === "name" ? scope.inputs.get(value.name) : undefined;
      if (value === undefined || passed === undefined || passed.kind !== declared.type.kind.name || passed.dims.join() !== declared.type.dims.map((d) => d.name).join()) {
        this.report(scope, "STP207", `\`${callee.name.name}\` needs its runtime input \`${declared.name.name}\`: pass an input of type \`${declared.type.kind.name}[${declared.type.dims.map((d) => d.name).join(", ")}]\``,
          value?.span ?? expr.span, `declare \`input ${declared.name.name}: ${declared.type.kind.name}[${declared.type.dims.map((d) => d.name).join(", ")}]\` in this pattern and pass it by name`);
        ok = false;
        continue;
      }
      inputs.set(declared.name.name, passed);
    }
    return ok ? { ints, inputs } : undefined;
  }

  private inputOf(name: string, span: Span, scope: Scope): InputRef | undefined {
    const input = scope.inputs.get(name);
    if (input === undefined) {
      if (scope.ints.has(name) || this.program.patterns.has(name)) {
        return this.report(scope, "STP205", `\`${name}\` is not a runtime input, so it cannot be indexed`, span, "declare it as `input NAME: index[H]` (or blocks, ids, bool)");
      }
      return this.unknownName(name, span, scope);
    }
    return input;
  }

  private isIntName(name: string, scope: Scope): boolean {
    return scope.ints.has(name) || (variableNames as readonly string[]).includes(name) || (sizeNames as readonly string[]).includes(name);
  }

  private inputMisuse(name: string, span: Span, scope: Scope): undefined {
    const input = scope.inputs.get(name);
    const use = input === undefined ? "" : usage(input);
    return this.report(scope, "STP205", `runtime input \`${name}\` is used as a plain value`, span, `use it as ${use}`);
  }

  private expected(wanted: "condition" | "integer", found: "condition" | "integer", span: Span, scope: Scope): undefined {
    const hint = wanted === "condition" ? "turn an integer into a condition with a comparison, e.g. `q - k < 8`" : "conditions cannot take part in arithmetic; combine them with `&`, `|` and `!`";
    return this.report(scope, "STP201", `expected ${wanted === "condition" ? "a condition" : "an integer"}, found ${found === "condition" ? "a condition" : "an integer"}`, span, hint);
  }

  private decimalMisuse(span: Span, scope: Scope): undefined {
    return this.report(scope, "STP201", "a decimal number is not an integer or a condition", span,
      "positions and lengths are integers; decimals are only estimator settings such as `estimate xattention(blocks, threshold = 0.9)`");
  }

  private unknownName(name: string, span: Span, scope: Scope): undefined {
    const candidates = [...variableNames, ...sizeNames, ...builtinPatterns, ...scope.ints.keys(), ...scope.inputs.keys(), ...this.program.patterns.keys()];
    return this.report(scope, "STP101", `unknown name \`${name}\``, span,
      didYouMean(name, candidates) ?? "names in scope: q, k, i, h, kvh, l, Q, K, H, KVH, L, causal, full, none, the parameters and the patterns");
  }

  private unknownCallee(expr: Call, scope: Scope): undefined {
    const candidates = [...this.program.patterns.keys(), ...builtinFunctions];
    return this.report(scope, "STP102", `unknown pattern \`${expr.callee.name}\``, expr.callee.span,
      didYouMean(expr.callee.name, candidates) ?? "declare it with `pattern`, or import the file that does");
  }

  private report(scope: Scope, code: "STP101" | "STP102" | "STP103" | "STP108" | "STP201" | "STP202" | "STP203" | "STP204" | "STP205" | "STP206" | "STP207", message: string, span: Span, hint: string): undefined {
    scope.report(diagnostic(code, message, { span, hint }));
    return undefined;
  }
}

export function axisVariable(axis: P.Axis): string {
  switch (axis) {
    case "H": return "h";
    case "KVH": return "kvh";
    case "L": return "l";
    case "K": return "k";
  }
}

function usage(input: InputRef): string {
  const index = `${input.name}[${input.dims.map(axisVariable).join(", ")}]`;
  switch (input.kind) {
    case "index": return `\`k in ${index}\``;
    case "blocks": return `\`(i / B, k / B) in ${index}\``;
    case "ids": return `\`${input.name}[q] == ${input.name}[k]\``;
    case "bool": return `a condition: \`${index}\``;
  }
}

