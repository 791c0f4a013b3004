import { diagnostic, hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceFile } from "../diagnostics/source.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { PatternDef } from "../ir/pattern/pattern.js";
import { checkProgram } from "../passes/check.js";
import { loadProgram, type SourceHost } from "./load.js";

/** The front end's result: checked patterns of a set of files and their imports, and what went wrong. */
export interface Program {
  readonly patterns: ReadonlyMap<string, PatternDef>;
  /** Patterns declared in each loaded file, in order (checked or not). */
  readonly declaredIn: ReadonlyMap<string, readonly string[]>;
  readonly sources: ReadonlyMap<string, SourceFile>;
  readonly diagnostics: readonly Diagnostic[];
}

/** parse → check for the given files and everything they import. */
export function compileProgram(paths: readonly string[], host: SourceHost): Program {
  const loaded = loadProgram(paths, host);
  const checked = checkProgram(loaded.files);
  const declaredIn = new Map<string, string[]>();
  for (const file of loaded.files) {
    declaredIn.set(file.path, file.items.flatMap((item) => (item.kind === "pattern" ? [item.name.name] : [])));
  }
  const fileOrder = new Map(loaded.files.map((file, at) => [file.path, at]));
  // Report in reading order: by file, then by position, whichever stage found the problem.
  const diagnostics = [...loaded.diagnostics, ...checked.diagnostics].sort((a, b) =>
    a.span === undefined || b.span === undefined
      ? Number(a.span !== undefined) - Number(b.span !== undefined)
      : (fileOrder.get(a.span.file) ?? 0) - (fileOrder.get(b.span.file) ?? 0) || a.span.start - b.span.start,
  );
  return { patterns: checked.patterns, declaredIn, sources: loaded.sources, diagnostics };
}

export function programFailed(program: Program): boolean {
  return hasErrors(program.diagnostics);
}

/**
 * The pattern a command works on: the one named, or else the only pattern declared in the file itself
 * (imported patterns do not count, so `tri_shape.stip` means `tri_shape`).
 */
export function selectPattern(program: Program, file: string, name: string | undefined): PatternDef | Diagnostic {
  const own = program.declaredIn.get(file) ?? [];
  if (name === undefined) {
    const [only] = own;
    if (own.length === 1 && only !== undefined) return program.patterns.get(only) ?? diagnostic("STP307", `pattern \`${only}\` has errors`);
    return diagnostic(own.length === 0 ? "STP307" : "STP308", own.length === 0 ? `\`${file}\` declares no pattern` : `\`${file}\` declares ${own.length} patterns: ${own.join(", ")}`, {
      hint: own.length === 0 ? "add `pattern NAME = ...` to the file" : "choose one with --pattern NAME",
    });
  }
  const found = program.patterns.get(name);
  if (found !== undefined) return found;
  const all = [...program.patterns.keys()];
  return diagnostic("STP307", `no pattern \`${name}\` in \`${file}\` or its imports`, {
    hint: didYouMean(name, all) ?? `patterns here: ${all.join(", ") || "none"}`,
  });
}
