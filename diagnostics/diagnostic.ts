import { catalog, type DiagnosticCode, type Severity } from "./catalog.js";
import type { Span } from "./source.js";

/** A message for the user. Collected into lists, never thrown (see `DiagnosticError` for the one exception). */
export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly span?: Span;
  readonly hint?: string;
  /** Further places that explain the error ("declared here"). */
  readonly related?: readonly { readonly span: Span; readonly message: string }[];
}

export interface DiagnosticOptions {
  readonly span?: Span | undefined;
  readonly hint?: string | undefined;
  readonly related?: readonly { readonly span: Span; readonly message: string }[];
}

export function diagnostic(code: DiagnosticCode, message: string, options: DiagnosticOptions = {}): Diagnostic {
  return {
    code,
    severity: catalog[code].severity,
    message,
    ...(options.span === undefined ? {} : { span: options.span }),
    ...(options.hint === undefined ? {} : { hint: options.hint }),
    ...(options.related === undefined ? {} : { related: options.related }),
  };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/**
 * Carries diagnostics out of deep evaluation code (the mask evaluator meeting a zero divisor) to the one
 * place that reports them. Callers at the API boundary catch it and never show its stack.
 */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n"));
    this.name = "DiagnosticError";
  }
}

/** The value of a step that may fail with diagnostics. */
export type Result<T> =
  | { readonly ok: true; readonly value: T; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export function ok<T>(value: T, diagnostics: readonly Diagnostic[] = []): Result<T> {
  return { ok: true, value, diagnostics };
}

export function failed<T>(diagnostics: readonly Diagnostic[]): Result<T> {
  return { ok: false, diagnostics };
}

/** Runs a function and turns a thrown DiagnosticError into a failed result. */
export function catchDiagnostics<T>(run: () => T): Result<T> {
  try {
    return ok(run());
  } catch (error) {
    if (error instanceof DiagnosticError) return failed(error.diagnostics);
    throw error;
  }
}
