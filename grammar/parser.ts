import { EmbeddedActionsParser, type IToken, type TokenType } from "chevrotain";
import type { Span } from "../diagnostics/source.js";
import type {
  Arg, BinaryOp, EstimateClause, Expr, Ident, ImportDecl, InputParamDecl, InputTypeAst, IntParamDecl, IntRange,
  ParamDecl, PatternDecl, SignedInt,
} from "./ast.js";
import { syntaxMessages } from "./messages.js";
import * as T from "./tokens.js";

const comparisonOps: ReadonlyMap<TokenType, BinaryOp> = new Map([
  [T.Less, "<"], [T.LessEq, "<="], [T.Greater, ">"], [T.GreaterEq, ">="], [T.EqEq, "=="], [T.NotEq, "!="],
]);

/**
 * The `.stip` grammar, lowest precedence first:
 *
 *   expr     := "if" expr "then" expr "else" expr | or
 *   or       := and ("|" and)*
 *   and      := not ("&" not)*
 *   not      := "!" not | compare
 *   compare  := sum ((< <= > >= == !=) sum | "in" sum)?      (non-associative)
 *   sum      := product (("+" | "-") product)*
 *   product  := negation (("*" | "/" | "%") negation)*
 *   negation := "-" negation | atom
 *   atom     := INT | NAME | NAME "(" args ")" | NAME "[" exprs "]" | "(" expr ("," expr)* ")"
 *
 * The parser reads one declaration at a time (see parse.ts), so a syntax error costs only its declaration
 * and the others are still checked: that is our error recovery.
 */
export class StipParser extends EmbeddedActionsParser {
  private file = "";

  constructor() {
    super(T.allTokens, { recoveryEnabled: false, maxLookahead: 3, errorMessageProvider: syntaxMessages });
    this.performSelfAnalysis();
  }

  load(tokens: IToken[], file: string): void {
    this.input = tokens;
    this.file = file;
  }

  private span(first: IToken, last: IToken): Span {
    return { file: this.file, start: first.startOffset, end: (last.endOffset ?? last.startOffset) + 1 };
  }

  private spanOf(first: { span: Span }, last: { span: Span }): Span {
    return { file: this.file, start: first.span.start, end: last.span.end };
  }

  private ident(token: IToken): Ident {
    return { name: token.image, span: this.span(token, token) };
  }

  public importDecl = this.RULE("importDecl", (): ImportDecl => {
    const keyword = this.CONSUME(T.Import);
    const path = this.CONSUME(T.StringLiteral);
    return this.ACTION(() => ({ kind: "import", path: path.image.slice(1, -1), span: this.span(keyword, path) }));
  });

  public patternDecl = this.RULE("patternDecl", (): PatternDecl => {
    const keyword = this.CONSUME(T.Pattern);
    const name = this.CONSUME(T.Identifier);
    const params: ParamDecl[] = [];
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.MANY_SEP({ SEP: T.Comma, DEF: () => params.push(this.SUBRULE(this.param)) });
      this.CONSUME(T.RParen);
    });
    this.CONSUME(T.Equals);
    const body = this.SUBRULE(this.expr);
    const estimate = this.OPTION2(() => this.SUBRULE(this.estimateClause));
    return this.ACTION(() => ({
      kind: "pattern", name: this.ident(name), params, body, ...(estimate === undefined ? {} : { estimate }),
      span: { file: this.file, start: keyword.startOffset, end: (estimate ?? body).span.end },
    }));
  });

  private estimateClause = this.RULE("estimateClause", (): EstimateClause => {
    const keyword = this.CONSUME(T.Estimate);
    const name = this.CONSUME(T.Identifier);
    const args: Arg[] = [];
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => args.push(this.SUBRULE(this.arg)) });
    const close = this.CONSUME(T.RParen);
    return this.ACTION(() => ({ kind: "estimate", name: this.ident(name), args, span: this.span(keyword, close) }));
  });

  private param = this.RULE("param", (): ParamDecl =>
    this.OR([
      { ALT: () => this.SUBRULE(this.inputParam) },
      { ALT: () => this.SUBRULE(this.intParam) },
    ]),
  );

  private inputParam = this.RULE("inputParam", (): InputParamDecl => {
    const keyword = this.CONSUME(T.Input);
    const name = this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    const type = this.SUBRULE(this.inputType);
    return this.ACTION(() => ({
      kind: "inputParam", name: this.ident(name), type, span: { file: this.file, start: keyword.startOffset, end: type.span.end },
    }));
  });

  private inputType = this.RULE("inputType", (): InputTypeAst => {
    // The type name is checked later (STP205), so a misspelt one gets a did-you-mean, not a syntax error.
    const kindToken = this.CONSUME(T.Identifier);
    this.CONSUME(T.LBracket);
    const dims: IToken[] = [];
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => dims.push(this.CONSUME2(T.Identifier)) });
    let last = this.CONSUME(T.RBracket);
    let blockSize: [Expr, Expr] | undefined;
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      const rows = this.SUBRULE(this.expr);
      this.CONSUME(T.Comma);
      const cols = this.SUBRULE2(this.expr);
      last = this.CONSUME(T.RParen);
      blockSize = [rows, cols];
    });
    return this.ACTION(() => ({
      kind: this.ident(kindToken),
      dims: dims.map((d) => this.ident(d)),
      ...(blockSize === undefined ? {} : { blockSize }),
      span: this.span(kindToken, last),
    }));
  });

  private intParam = this.RULE("intParam", (): IntParamDecl => {
    const name = this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    let last = this.CONSUME(T.Int);
    let range: IntRange | undefined;
    let defaultValue: SignedInt | undefined;
    this.OPTION(() => {
      const open = this.CONSUME(T.LParen);
      const min = this.OPTION2(() => this.SUBRULE(this.signedInt));
      this.CONSUME(T.DotDot);
      const max = this.OPTION3(() => this.SUBRULE2(this.signedInt));
      last = this.CONSUME(T.RParen);
      range = this.ACTION(() => ({
        ...(min === undefined ? {} : { min: min.value }),
        ...(max === undefined ? {} : { max: max.value }),
        span: this.span(open, last),
      }));
    });
    this.OPTION4(() => {
      this.CONSUME(T.Equals);
      defaultValue = this.SUBRULE3(this.signedInt);
    });
    return this.ACTION(() => ({
      kind: "intParam",
      name: this.ident(name),
      ...(range === undefined ? {} : { range }),
      ...(defaultValue === undefined ? {} : { default: defaultValue }),
      span: defaultValue === undefined ? this.span(name, last) : { file: this.file, start: name.startOffset, end: defaultValue.span.end },
    }));
  });

  private signedInt = this.RULE("signedInt", (): SignedInt => {
    const minus = this.OPTION(() => this.CONSUME(T.Minus));
    const digits = this.CONSUME(T.Integer);
    return this.ACTION(() => {
      const magnitude = parseInteger(digits.image);
      return { value: minus === undefined ? magnitude : -magnitude, span: this.span(minus ?? digits, digits) };
    });
  });

  public expr = this.RULE("expr", (): Expr =>
    this.OR([
      { ALT: () => this.SUBRULE(this.ifExpr) },
      { ALT: () => this.SUBRULE(this.orExpr) },
    ]),
  );

  private ifExpr = this.RULE("ifExpr", (): Expr => {
    const keyword = this.CONSUME(T.If);
    const cond = this.SUBRULE(this.expr);
    this.CONSUME(T.Then);
    const then = this.SUBRULE2(this.expr);
    this.CONSUME(T.Else);
    const otherwise = this.SUBRULE3(this.expr);
    return this.ACTION(() => ({
      kind: "if", cond, then, else: otherwise, span: { file: this.file, start: keyword.startOffset, end: otherwise.span.end },
    }));
  });

  private orExpr = this.RULE("orExpr", (): Expr => {
    let left = this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(T.Pipe);
      const right = this.SUBRULE2(this.andExpr);
      left = this.ACTION(() => this.binary("|", left, right));
    });
    return left;
  });

  private andExpr = this.RULE("andExpr", (): Expr => {
    let left = this.SUBRULE(this.notExpr);
    this.MANY(() => {
      this.CONSUME(T.Amp);
      const right = this.SUBRULE2(this.notExpr);
      left = this.ACTION(() => this.binary("&", left, right));
    });
    return left;
  });

  private notExpr = this.RULE("notExpr", (): Expr =>
    this.OR([
      {
        ALT: () => {
          const bang = this.CONSUME(T.Bang);
          const operand = this.SUBRULE(this.notExpr);
          return this.ACTION((): Expr => ({
            kind: "unary", op: "!", operand, span: { file: this.file, start: bang.startOffset, end: operand.span.end },
          }));
        },
      },
      { ALT: () => this.SUBRULE(this.compareExpr) },
    ]),
  );

  private compareExpr = this.RULE("compareExpr", (): Expr => {
    const left = this.SUBRULE(this.sumExpr);
    let result = left;
    this.OPTION(() => {
      this.OR([
        {
          ALT: () => {
            const op = this.OR2([
              { ALT: () => this.CONSUME(T.Less) }, { ALT: () => this.CONSUME(T.LessEq) },
              { ALT: () => this.CONSUME(T.Greater) }, { ALT: () => this.CONSUME(T.GreaterEq) },
              { ALT: () => this.CONSUME(T.EqEq) }, { ALT: () => this.CONSUME(T.NotEq) },
            ]);
            const right = this.SUBRULE2(this.sumExpr);
            result = this.ACTION(() => this.binary(comparisonOps.get(op.tokenType) ?? "==", left, right));
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.In);
            const set = this.SUBRULE3(this.sumExpr);
            result = this.ACTION((): Expr => ({ kind: "in", element: left, set, span: this.spanOf(left, set) }));
          },
        },
      ]);
    });
    return result;
  });

  private sumExpr = this.RULE("sumExpr", (): Expr => {
    let left = this.SUBRULE(this.productExpr);
    this.MANY(() => {
      const op = this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      const right = this.SUBRULE2(this.productExpr);
      left = this.ACTION(() => this.binary(op.tokenType === T.Plus ? "+" : "-", left, right));
    });
    return left;
  });

  private productExpr = this.RULE("productExpr", (): Expr => {
    let left = this.SUBRULE(this.negation);
    this.MANY(() => {
      const op = this.OR([
        { ALT: () => this.CONSUME(T.Star) }, { ALT: () => this.CONSUME(T.Slash) }, { ALT: () => this.CONSUME(T.Percent) },
      ]);
      const right = this.SUBRULE2(this.negation);
      left = this.ACTION(() => this.binary(op.tokenType === T.Star ? "*" : op.tokenType === T.Slash ? "/" : "%", left, right));
    });
    return left;
  });

  private negation = this.RULE("negation", (): Expr =>
    this.OR([
      {
        ALT: () => {
          const minus = this.CONSUME(T.Minus);
          const operand = this.SUBRULE(this.negation);
          return this.ACTION((): Expr => ({
            kind: "unary", op: "-", operand, span: { file: this.file, start: minus.startOffset, end: operand.span.end },
          }));
        },
      },
      { ALT: () => this.SUBRULE(this.atom) },
    ]),
  );

  private atom = this.RULE("atom", (): Expr =>
    this.OR([
      {
        ALT: () => {
          const digits = this.CONSUME(T.Integer);
          return this.ACTION((): Expr => ({ kind: "int", value: parseInteger(digits.image), span: this.span(digits, digits) }));
        },
      },
      {
        ALT: () => {
          const digits = this.CONSUME(T.Decimal);
          return this.ACTION((): Expr => ({ kind: "decimal", value: Number(digits.image.replaceAll("_", "")), span: this.span(digits, digits) }));
        },
      },
      { ALT: () => this.SUBRULE(this.nameAtom) },
      { ALT: () => this.SUBRULE(this.parenAtom) },
    ]),
  );

  private nameAtom = this.RULE("nameAtom", (): Expr => {
    const name = this.CONSUME(T.Identifier);
    let result: Expr | undefined;
    this.OPTION(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            const args: Arg[] = [];
            this.MANY_SEP({ SEP: T.Comma, DEF: () => args.push(this.SUBRULE(this.arg)) });
            const close = this.CONSUME(T.RParen);
            result = this.ACTION((): Expr => ({ kind: "call", callee: this.ident(name), args, span: this.span(name, close) }));
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.LBracket);
            const indices: Expr[] = [];
            this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => indices.push(this.SUBRULE(this.expr)) });
            const close = this.CONSUME(T.RBracket);
            result = this.ACTION((): Expr => ({ kind: "index", target: this.ident(name), indices, span: this.span(name, close) }));
          },
        },
      ]);
    });
    return this.ACTION(() => result ?? { kind: "name", name: name.image, span: this.span(name, name) });
  });

  private arg = this.RULE("arg", (): Arg => {
    let name: IToken | undefined;
    this.OPTION({
      GATE: () => this.LA(2).tokenType === T.Equals,
      DEF: () => {
        name = this.CONSUME(T.Identifier);
        this.CONSUME(T.Equals);
      },
    });
    const value = this.SUBRULE(this.expr);
    return this.ACTION(() => (name === undefined ? { value } : { name: this.ident(name), value }));
  });

  private parenAtom = this.RULE("parenAtom", (): Expr => {
    const open = this.CONSUME(T.LParen);
    const elements: Expr[] = [];
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => elements.push(this.SUBRULE(this.expr)) });
    const close = this.CONSUME(T.RParen);
    return this.ACTION((): Expr => {
      const [only] = elements;
      // A parenthesised expression keeps the span of its contents, so diagnostics point inside the parentheses.
      if (elements.length === 1 && only !== undefined) return only;
      return { kind: "tuple", elements, span: this.span(open, close) };
    });
  });

  private binary(op: BinaryOp, left: Expr, right: Expr): Expr {
    return { kind: "binary", op, left, right, span: this.spanOf(left, right) };
  }
}

/** Digits with optional `_` separators (`1_048_576`). */
function parseInteger(image: string): number {
  return Number(image.replaceAll("_", ""));
}
