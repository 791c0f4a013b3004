/** A source text with a name, and fast offset → line/column lookup for diagnostics. */
export interface SourceFile {
  readonly path: string;
  readonly text: string;
  /** Offsets at which each line starts; line n (1-based) starts at lineStarts[n - 1]. */
  readonly lineStarts: readonly number[];
}

/** A half-open range [start, end) of offsets into one source file. */
export interface Span {
  readonly file: string;
  readonly start: number;
  readonly end: number;
}

export interface LineCol {
  readonly line: number;
  readonly col: number;
}

export function sourceFile(path: string, text: string): SourceFile {
  const lineStarts = [0];
  for (let at = 0; at < text.length; at++) {
    if (text.charCodeAt(at) === 10) lineStarts.push(at + 1);
  }
  return { path, text, lineStarts };
}

/** 1-based line and column of an offset (binary search over line starts). */
export function lineColOf(source: SourceFile, offset: number): LineCol {
  let lo = 0;
  let hi = source.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((source.lineStarts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: offset - (source.lineStarts[lo] ?? 0) + 1 };
}

/** The text of a 1-based line, without its newline. */
export function lineText(source: SourceFile, line: number): string {
  const start = source.lineStarts[line - 1] ?? source.text.length;
  const next = source.lineStarts[line];
  const end = next === undefined ? source.text.length : next - 1;
  return source.text.slice(start, end).replace(/\r$/, "");
}

export function spanText(source: SourceFile, span: Span): string {
  return source.text.slice(span.start, span.end);
}

export function joinSpans(a: Span, b: Span): Span {
  return { file: a.file, start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}
