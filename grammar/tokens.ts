import { createToken, Lexer, type TokenType } from "chevrotain";

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

function keyword(word: string): TokenType {
  return createToken({ name: word[0]?.toUpperCase() + word.slice(1), pattern: new RegExp(word), longer_alt: Identifier });
}

export const Pattern = keyword("pattern");
export const Import = keyword("import");
export const Input = keyword("input");
export const If = keyword("if");
export const Then = keyword("then");
export const Else = keyword("else");
export const In = keyword("in");
export const Int = keyword("int");
export const Estimate = keyword("estimate");

export const Integer = createToken({ name: "Integer", pattern: /[0-9][0-9_]*/ });
/** `0.95`: digits on both sides of the point, so `0..5` stays a range. */
export const Decimal = createToken({ name: "Decimal", pattern: /[0-9][0-9_]*\.[0-9][0-9_]*/ });
export const StringLiteral = createToken({ name: "StringLiteral", pattern: /"[^"\n]*"/ });

export const LessEq = createToken({ name: "LessEq", pattern: /<=/ });
export const GreaterEq = createToken({ name: "GreaterEq", pattern: />=/ });
export const EqEq = createToken({ name: "EqEq", pattern: /==/ });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/ });
export const Less = createToken({ name: "Less", pattern: /</ });
export const Greater = createToken({ name: "Greater", pattern: />/ });
export const Equals = createToken({ name: "Equals", pattern: /=/ });
export const Bang = createToken({ name: "Bang", pattern: /!/ });
export const Amp = createToken({ name: "Amp", pattern: /&/ });
export const Pipe = createToken({ name: "Pipe", pattern: /\|/ });
export const Plus = createToken({ name: "Plus", pattern: /\+/ });
export const Minus = createToken({ name: "Minus", pattern: /-/ });
export const Star = createToken({ name: "Star", pattern: /\*/ });
export const Slash = createToken({ name: "Slash", pattern: /\// });
export const Percent = createToken({ name: "Percent", pattern: /%/ });
export const DotDot = createToken({ name: "DotDot", pattern: /\.\./ });
export const LParen = createToken({ name: "LParen", pattern: /\(/ });
export const RParen = createToken({ name: "RParen", pattern: /\)/ });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/ });
export const RBracket = createToken({ name: "RBracket", pattern: /\]/ });
export const Comma = createToken({ name: "Comma", pattern: /,/ });
export const Colon = createToken({ name: "Colon", pattern: /:/ });

export const Comment = createToken({ name: "Comment", pattern: /#[^\n]*/, group: Lexer.SKIPPED });
export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /\s+/, group: Lexer.SKIPPED });

/** Order matters: keywords before Identifier, two-character operators before their one-character prefixes. */
export const allTokens: TokenType[] = [
  WhiteSpace, Comment,
  // `in` last: it is a prefix of `input` and `int`, which must win. Input type names (index, blocks, ids,
  // bool) are plain identifiers, so inputs may be called `blocks` or `ids`.
  Pattern, Import, Input, Int, Estimate, If, Then, Else, In,
  Identifier, Decimal, Integer, StringLiteral,
  LessEq, GreaterEq, EqEq, NotEq, Less, Greater, Equals, Bang, Amp, Pipe,
  Plus, Minus, Star, Slash, Percent, DotDot, LParen, RParen, LBracket, RBracket, Comma, Colon,
];

export const stipLexer = new Lexer(allTokens, { positionTracking: "full", ensureOptimizations: false });
