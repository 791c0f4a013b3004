import type { Arg, Expr, FileAst, InputTypeAst, Item, ParamDecl, PatternDecl } from "./ast.js";

/**
 * Prints an AST back as `.stip` source with the fewest parentheses that keep its structure: parsing the
 * output gives the same tree (test/grammar.roundtrip.test.ts holds this as a property). Comments are not in
 * the AST, so they are not printed.
 */
export function printFile(file: FileAst): string {
  return file.items.map(printItem).join("\n\n") + (file.items.length > 0 ? "\n" : "");
}

export function printItem(item: Item): string {
  switch (item.kind) {
    case "import":
      return `import "${item.path}"`;
    case "pattern":
      return printPattern(item);
  }
}

function printPattern(pattern: PatternDecl): string {
  const params = pattern.params.length === 0 ? "" : `(${pattern.params.map(printParam).join(", ")})`;
  const estimate = pattern.estimate === undefined ? "" : `\n  estimate ${pattern.estimate.name.name}(${printArgs(pattern.estimate.args)})`;
  return `pattern ${pattern.name.name}${params} =\n  ${printExpr(pattern.body)}${estimate}`;
}

function printArgs(args: readonly Arg[]): string {
  return args.map((a) => (a.name === undefined ? "" : `${a.name.name} = `) + printExpr(a.value)).join(", ");
}

function printParam(param: ParamDecl): string {
  switch (param.kind) {
    case "intParam": {
      const range = param.range === undefined ? "" : `(${param.range.min ?? ""}..${param.range.max ?? ""})`;
      const value = param.default === undefined ? "" : ` = ${param.default.value}`;
      return `${param.name.name}: int${range}${value}`;
    }
    case "inputParam":
      return `input ${param.name.name}: ${printInputType(param.type)}`;
  }
}

export function printInputType(type: InputTypeAst): string {
  const dims = `[${type.dims.map((d) => d.name).join(", ")}]`;
  const block = type.blockSize === undefined ? "" : `(${printExpr(type.blockSize[0])}, ${printExpr(type.blockSize[1])})`;
  return `${type.kind.name}${dims}${block}`;
}

/** Binding strength, loosest first; mirrors the grammar in parser.ts. */
const enum Level {
  If = 0,
  Or = 1,
  And = 2,
  Not = 3,
  Compare = 4,
  Sum = 5,
  Product = 6,
  Negation = 7,
  Atom = 8,
}

function levelOf(expr: Expr): Level {
  switch (expr.kind) {
    case "if":
      return Level.If;
    case "binary":
      switch (expr.op) {
        case "|":
          return Level.Or;
        case "&":
          return Level.And;
        case "+":
        case "-":
          return Level.Sum;
        case "*":
        case "/":
        case "%":
          return Level.Product;
        default:
          return Level.Compare;
      }
    case "in":
      return Level.Compare;
    case "unary":
      return expr.op === "!" ? Level.Not : Level.Negation;
    case "int":
    case "decimal":
    case "name":
    case "call":
    case "index":
    case "tuple":
      return Level.Atom;
  }
}

/** Prints `expr` so that it parses back at `needed` or tighter. */
function printAt(expr: Expr, needed: Level): string {
  const text = printExpr(expr);
  return levelOf(expr) < needed ? `(${text})` : text;
}

export function printExpr(expr: Expr): string {
  switch (expr.kind) {
    case "int":
      return String(expr.value);
    case "decimal":
      // Always with a point, so it reads back as a decimal (String(1) would be an integer).
      return Number.isInteger(expr.value) ? `${expr.value}.0` : String(expr.value);
    case "name":
      return expr.name;
    case "unary":
      // `!` takes a `not`-level operand, `-` a negation-level one; both may nest without parentheses.
      return expr.op === "!" ? `!${printAt(expr.operand, Level.Not)}` : `-${printAt(expr.operand, Level.Negation)}`;
    case "binary": {
      const level = levelOf(expr);
      // Left-associative chains need no parentheses on the left; comparisons are non-associative, so both
      // operands of a comparison must be tighter than a comparison.
      const leftLevel = level === Level.Compare ? Level.Sum : level;
      const rightLevel = level === Level.Compare ? Level.Sum : level + 1;
      return `${printAt(expr.left, leftLevel)} ${expr.op} ${printAt(expr.right, rightLevel)}`;
    }
    case "in":
      return `${printAt(expr.element, Level.Sum)} in ${printAt(expr.set, Level.Sum)}`;
    case "call":
      return `${expr.callee.name}(${printArgs(expr.args)})`;
    case "index":
      return `${expr.target.name}[${expr.indices.map(printExpr).join(", ")}]`;
    case "tuple":
      return `(${expr.elements.map(printExpr).join(", ")})`;
    case "if":
      return `if ${printExpr(expr.cond)} then ${printExpr(expr.then)} else ${printExpr(expr.else)}`;
  }
}
