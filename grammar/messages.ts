import { EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";
import * as T from "./tokens.js";

/** How each token reads in a message: `)` rather than RParen. */
const tokenNames: ReadonlyMap<TokenType, string> = new Map([
  [T.Identifier, "a name"], [T.Integer, "an integer"], [T.Decimal, "a decimal number"], [T.StringLiteral, "a string"],
  [T.Pattern, "`pattern`"], [T.Import, "`import`"], [T.Input, "`input`"], [T.If, "`if`"], [T.Then, "`then`"],
  [T.Else, "`else`"], [T.In, "`in`"], [T.Int, "`int`"], [T.Estimate, "`estimate`"], [T.LessEq, "`<=`"], [T.GreaterEq, "`>=`"], [T.EqEq, "`==`"],
  [T.NotEq, "`!=`"], [T.Less, "`<`"], [T.Greater, "`>`"], [T.Equals, "`=`"], [T.Bang, "`!`"], [T.Amp, "`&`"],
  [T.Pipe, "`|`"], [T.Plus, "`+`"], [T.Minus, "`-`"], [T.Star, "`*`"], [T.Slash, "`/`"], [T.Percent, "`%`"],
  [T.DotDot, "`..`"], [T.LParen, "`(`"], [T.RParen, "`)`"], [T.LBracket, "`[`"], [T.RBracket, "`]`"],
  [T.Comma, "`,`"], [T.Colon, "`:`"], [EOF, "the end of the declaration"],
]);

function describeType(type: TokenType): string {
  return tokenNames.get(type) ?? type.name;
}

export function describeToken(token: IToken): string {
  if (token.tokenType === EOF) return "the end of the declaration";
  if (token.tokenType === T.Identifier || token.tokenType === T.Integer || token.tokenType === T.Decimal) return `\`${token.image}\``;
  return describeType(token.tokenType);
}

function listExpected(paths: TokenType[][][]): string {
  const firsts = new Set<string>();
  // Decimals are only estimator settings: offering one wherever an integer fits would mislead.
  for (const alternative of paths) for (const path of alternative) if (path[0] !== undefined && path[0] !== T.Decimal) firsts.add(describeType(path[0]));
  const names = [...firsts];
  return names.length <= 1 ? (names[0] ?? "something else") : `${names.slice(0, -1).join(", ")} or ${names.at(-1) ?? ""}`;
}

/** Short syntax-error messages in the words of the language (`expected `)`, found `k``). */
export const syntaxMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) => `expected ${describeType(expected)}, found ${describeToken(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) =>
    `unexpected ${describeToken(firstRedundant)} after a complete declaration`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual }) =>
    `expected ${listExpected(expectedPathsPerAlt)}, found ${actual[0] === undefined ? "nothing" : describeToken(actual[0])}`,
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) =>
    `expected ${listExpected([expectedIterationPaths])}, found ${actual[0] === undefined ? "nothing" : describeToken(actual[0])}`,
};
