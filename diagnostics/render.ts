import type { Diagnostic } from "./diagnostic.js";
import { lineColOf, lineText, type SourceFile, type Span } from "./source.js";

/** Looks up the source text a span points into, so the renderer can draw a code frame. */
export type SourceLookup = (path: string) => SourceFile | undefined;

/**
 * Renders a diagnostic the way compilers people know do:
 *
 *   error[STP102]: unknown pattern `a_shap`
 *    --> file.stip:3:12
 *     |
 *   3 |   causal & a_shap(4, 8)
 *     |            ^~~~~~
 *     = hint: did you mean `a_shape`?
 */
export function renderDiagnostic(d: Diagnostic, sources: SourceLookup): string {
  const lines = [`${d.severity}[${d.code}]: ${d.message}`];
  if (d.span !== undefined) lines.push(...codeFrame(d.span, sources, ""));
  for (const note of d.related ?? []) {
    lines.push(`note: ${note.message}`, ...codeFrame(note.span, sources, ""));
  }
  if (d.hint !== undefined) lines.push(`  = hint: ${d.hint}`);
  return lines.join("\n");
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[], sources: SourceLookup): string {
  return diagnostics.map((d) => renderDiagnostic(d, sources)).join("\n\n");
}

/** `file:line:col`, or the bare path when the file's text is unknown. */
export function location(span: Span, sources: SourceLookup): string {
  const source = sources(span.file);
  if (source === undefined) return span.file;
  const { line, col } = lineColOf(source, span.start);
  return `${span.file}:${line}:${col}`;
}

function codeFrame(span: Span, sources: SourceLookup, indent: string): string[] {
  const source = sources(span.file);
  if (source === undefined) return [`${indent} --> ${span.file}`];
  const start = lineColOf(source, span.start);
  const end = lineColOf(source, Math.max(span.start, span.end - 1));
  const text = lineText(source, start.line);
  const gutter = String(start.line).length;
  const pad = " ".repeat(gutter);
  // A span running over several lines is underlined to the end of its first line.
  const lastCol = end.line === start.line ? end.col : Math.max(start.col, text.length);
  const width = Math.max(1, lastCol - start.col + 1);
  const underline = " ".repeat(start.col - 1) + "^" + "~".repeat(width - 1);
  return [
    `${indent}${pad}--> ${span.file}:${start.line}:${start.col}`,
    `${indent}${pad} |`,
    `${indent}${start.line} | ${text}`,
    `${indent}${pad} | ${underline}`,
  ];
}
