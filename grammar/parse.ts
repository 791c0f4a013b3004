import { EOF, type IToken, type TokenType } from "chevrotain";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { Span } from "../diagnostics/source.js";
import type { FileAst, Item } from "./ast.js";
import { describeToken } from "./messages.js";
import { StipParser } from "./parser.js";
import * as T from "./tokens.js";

const parser = new StipParser();

const largestLiteral = 2 ** 31 - 1;

export interface ParseResult {
  readonly ast: FileAst;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Parses a whole file. Each top-level declaration is parsed on its own, so one syntax error does not hide
 * the declarations after it; a declaration with a syntax error is left out of the AST.
 */
export function parseStip(text: string, path: string): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const lexed = T.stipLexer.tokenize(text);
  for (const error of lexed.errors) {
    const character = text.slice(error.offset, error.offset + Math.max(1, error.length));
    diagnostics.push(
      diagnostic("STP001", `unexpected character \`${character}\``, {
        span: { file: path, start: error.offset, end: error.offset + Math.max(1, error.length) },
        hint: "a .stip file holds `pattern` and `import` declarations; comments start with `#`",
      }),
    );
  }
  for (const token of lexed.tokens) {
    if (token.tokenType === T.Integer && Number(token.image.replaceAll("_", "")) > largestLiteral) {
      diagnostics.push(
        diagnostic("STP002", `integer literal \`${token.image}\` is too large`, {
          span: tokenSpan(token, path),
          hint: `integer literals go up to ${largestLiteral}`,
        }),
      );
    }
  }

  const items: Item[] = [];
  for (const chunk of splitDeclarations(lexed.tokens)) {
    const [first] = chunk;
    if (first === undefined) continue;
    if (first.tokenType !== T.Pattern && first.tokenType !== T.Import) {
      diagnostics.push(
        diagnostic("STP002", `expected \`pattern\` or \`import\`, found ${describeToken(first)}`, {
          span: tokenSpan(first, path),
          hint: "declare a pattern as `pattern NAME(PARAMS) = EXPRESSION`",
        }),
      );
      continue;
    }
    parser.load(chunk, path);
    const item = first.tokenType === T.Pattern ? parser.patternDecl() : parser.importDecl();
    const [error] = parser.errors;
    if (error === undefined) {
      items.push(item);
      continue;
    }
    // A bad character was already reported and dropped; the syntax error it causes would only repeat it.
    const chunkEnd = endOf(chunk, path).end;
    if (lexed.errors.some((e) => e.offset >= first.startOffset && e.offset < chunkEnd)) continue;
    const at = error.token.tokenType === EOF ? endOf(chunk, path) : tokenSpan(error.token, path);
    diagnostics.push(diagnostic("STP002", error.message, { span: at, hint: syntaxHint(first.tokenType) }));
  }
  return { ast: { kind: "file", path, items }, diagnostics };
}

/** Splits the token stream before each `pattern` or `import` keyword (they only start declarations). */
function splitDeclarations(tokens: readonly IToken[]): IToken[][] {
  const chunks: IToken[][] = [];
  let current: IToken[] = [];
  for (const token of tokens) {
    if ((token.tokenType === T.Pattern || token.tokenType === T.Import) && current.length > 0) {
      chunks.push(current);
      current = [];
    }
    current.push(token);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function tokenSpan(token: IToken, file: string): Span {
  return { file, start: token.startOffset, end: (token.endOffset ?? token.startOffset) + 1 };
}

function endOf(chunk: readonly IToken[], file: string): Span {
  const last = chunk.at(-1);
  const end = last === undefined ? 0 : (last.endOffset ?? last.startOffset) + 1;
  return { file, start: Math.max(0, end - 1), end };
}

function syntaxHint(declaration: TokenType): string {
  return declaration === T.Import
    ? 'an import is `import "other.stip"`'
    : "a pattern is `pattern NAME(PARAM: int = 4, input NAME: index[H]) = EXPRESSION`";
}
