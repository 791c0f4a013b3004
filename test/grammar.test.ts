import fc from "fast-check";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Expr } from "../grammar/ast.js";
import { parseStip } from "../grammar/parse.js";
import { printFile } from "../grammar/print.js";
import { fileAst, withoutSpans } from "../fuzz/arbitraries.js";
import { readText } from "./helpers.js";

describe("parser", () => {
  it("parses every example without diagnostics", () => {
    const files = readdirSync("examples").filter((f) => f.endsWith(".stip"));
    expect(files.length).toBe(12);
    for (const file of files) {
      const { diagnostics, ast } = parseStip(readText(`examples/${file}`), file);
      expect(diagnostics, file).toEqual([]);
      expect(ast.items.some((item) => item.kind === "pattern")).toBe(true);
    }
  });

  it("binds tighter as the grammar says: & over |, arithmetic over comparison, `in` at comparison level", () => {
    const { ast } = parseStip("pattern p = a | b & !c < 2 + 3 * 4 & k in v[h]", "p.stip");
    const [item] = ast.items;
    if (item?.kind !== "pattern") throw new Error("no pattern");
    // Fully parenthesised, so the expected tree is written out.
    const sexpr = (e: Expr): string => {
      switch (e.kind) {
        case "binary": return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
        case "unary": return `(${e.op} ${sexpr(e.operand)})`;
        case "in": return `(in ${sexpr(e.element)} ${sexpr(e.set)})`;
        case "index": return `${e.target.name}[${e.indices.map(sexpr).join(",")}]`;
        case "name": return e.name;
        case "int": return String(e.value);
        default: return e.kind;
      }
    };
    expect(sexpr(item.body)).toBe("(| a (& (& b (! (< c (+ 2 (* 3 4))))) (in k v[h])))");
  });

  it("keeps spans that point at the source text", () => {
    const text = "pattern p(w: int = 4) =\n  causal & q - k < w";
    const { ast } = parseStip(text, "p.stip");
    const [item] = ast.items;
    if (item?.kind !== "pattern") throw new Error("no pattern");
    expect(text.slice(item.name.span.start, item.name.span.end)).toBe("p");
    expect(text.slice(item.body.span.start, item.body.span.end)).toBe("causal & q - k < w");
  });

  it("recovers per declaration: one syntax error per broken pattern, the others still parse", () => {
    const { ast, diagnostics } = parseStip("pattern a = q +\npattern b = causal\npattern c = (k\n", "p.stip");
    expect(diagnostics.map((d) => d.code)).toEqual(["STP002", "STP002"]);
    expect(ast.items.map((i) => (i.kind === "pattern" ? i.name.name : i.path))).toEqual(["b"]);
  });

  it("round-trips: parse(print(ast)) = ast on random trees", () => {
    fc.assert(
      fc.property(fileAst, (file) => {
        const printed = printFile(file);
        const reparsed = parseStip(printed, "random.stip");
        expect(reparsed.diagnostics, printed).toEqual([]);
        expect(withoutSpans(reparsed.ast)).toEqual(withoutSpans(file));
      }),
      { numRuns: 400 },
    );
  });

  it("round-trips every example through the printer", () => {
    for (const file of readdirSync("examples").filter((f) => f.endsWith(".stip"))) {
      const first = parseStip(readText(`examples/${file}`), file).ast;
      const again = parseStip(printFile(first), file).ast;
      expect(withoutSpans(again)).toEqual(withoutSpans(first));
    }
  });
});
