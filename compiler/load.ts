import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { sourceFile, type SourceFile } from "../diagnostics/source.js";
import type { FileAst } from "../grammar/ast.js";
import { parseStip } from "../grammar/parse.js";

/** Where `.stip` text comes from: the file system in Node, an in-memory map in the browser and in tests. */
export interface SourceHost {
  read(path: string): string | undefined;
  /** The path an `import "spec"` inside `from` refers to. */
  resolve(from: string, spec: string): string;
}

export interface LoadedProgram {
  /** Parsed files, each once, the entry files first and imports after the file that names them. */
  readonly files: readonly FileAst[];
  readonly sources: ReadonlyMap<string, SourceFile>;
  readonly diagnostics: readonly Diagnostic[];
}

/** Reads and parses the entry files and everything they import (each file once, so import cycles are harmless). */
export function loadProgram(entries: readonly string[], host: SourceHost): LoadedProgram {
  const files: FileAst[] = [];
  const sources = new Map<string, SourceFile>();
  const diagnostics: Diagnostic[] = [];
  const queue = [...entries];
  for (const entry of entries) {
    if (host.read(entry) === undefined) {
      diagnostics.push(diagnostic("STP901", `cannot read \`${entry}\``, { hint: "check the path; pattern files end in .stip" }));
    }
  }
  while (queue.length > 0) {
    const path = queue.shift();
    if (path === undefined || sources.has(path)) continue;
    const text = host.read(path);
    if (text === undefined) continue;
    const source = sourceFile(path, text);
    sources.set(path, source);
    const parsed = parseStip(text, path);
    files.push(parsed.ast);
    diagnostics.push(...parsed.diagnostics);
    for (const item of parsed.ast.items) {
      if (item.kind !== "import") continue;
      const target = host.resolve(path, item.path);
      if (host.read(target) === undefined) {
        diagnostics.push(diagnostic("STP109", `cannot read imported file \`${item.path}\``, {
          span: item.span, hint: `looked for ${target}; import paths are relative to the importing file`,
        }));
      } else queue.push(target);
    }
  }
  return { files, sources, diagnostics };
}

/** A host over an in-memory map of path → text, with `/`-separated relative imports. */
export function memoryHost(files: ReadonlyMap<string, string> | Record<string, string>): SourceHost {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  return {
    read: (path) => map.get(path),
    resolve: (from, spec) => {
      if (spec.startsWith("/")) return spec;
      const parts = from.split("/").slice(0, -1);
      for (const part of spec.split("/")) {
        if (part === "..") parts.pop();
        else if (part !== ".") parts.push(part);
      }
      return parts.join("/");
    },
  };
}
