import { readFileSync, writeFileSync } from "node:fs";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { renderDiagnostics } from "../diagnostics/render.js";
import { sourceFile, type SourceFile } from "../diagnostics/source.js";

/** Thrown inside commands to stop with diagnostics; main.ts prints them and exits 1. */
export class CommandFailed extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[], readonly sources: ReadonlyMap<string, SourceFile> = new Map()) {
    super("command failed");
  }
}

/** Global output settings (`stipple --quiet …`), set once before a command runs. */
export const output = { quiet: false };

/** Diagnostics on stderr; with --quiet, errors only (warnings are dropped). */
export function printDiagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>): void {
  const shown = output.quiet ? diagnostics.filter((d) => d.severity === "error") : diagnostics;
  if (shown.length > 0) process.stderr.write(renderDiagnostics(shown, (path) => sources.get(path)) + "\n");
}

/** A human-readable report line on stdout (not a result the user asked for, like a kernel or a mask): silent with --quiet. */
export function report(text: string): void {
  if (!output.quiet) process.stdout.write(text);
}

/** Parses repeated `NAME=VALUE` options into a map. */
export function keyValues(entries: readonly string[], option: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of entries) {
    const at = entry.indexOf("=");
    if (at <= 0) {
      throw new CommandFailed([diagnostic("STP902", `${option} expects NAME=VALUE, got \`${entry}\``, { hint: `for example ${option} window=64` })]);
    }
    map.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return map;
}

/** A non-negative integer command-line value. */
export function integerOption(value: string | undefined, option: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new CommandFailed([diagnostic("STP902", `${option} is required`, { hint: `for example ${option} 128` })]);
  }
  const number = /^[0-9][0-9_]*$/.test(value) ? Number(value.replaceAll("_", "")) : Number.NaN;
  if (!Number.isSafeInteger(number)) {
    throw new CommandFailed([diagnostic("STP902", `${option} expects a non-negative integer, got \`${value}\``, { hint: `for example ${option} 128` })]);
  }
  return number;
}

export function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new CommandFailed([diagnostic("STP306", `cannot read ${what} from \`${path}\``, { hint: "check the path" })]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // Point into the JSON file itself: V8 names the offset ("at position 12"), or the input ended early.
    const reason = (error instanceof Error ? error.message : String(error)).replace(/ in JSON at position \d+.*$/, "");
    const offset = Number(/at position (\d+)/.exec(error instanceof Error ? error.message : "")?.[1] ?? text.trimEnd().length);
    const span = { file: path, start: Math.max(0, Math.min(offset, text.length - 1)), end: Math.max(1, Math.min(offset + 1, text.length)) };
    throw new CommandFailed(
      [diagnostic("STP306", `${what} in \`${path}\` is not valid JSON: ${reason}`, { span, hint: "write the value as nested JSON arrays, e.g. [[0, 1], [2]]" })],
      new Map([[path, sourceFile(path, text)]]),
    );
  }
}

/** Writes to a file, or to stdout when no path is given. */
export function writeOutput(content: string | Uint8Array, path: string | undefined): void {
  if (path === undefined) process.stdout.write(content);
  else writeFileSync(path, content);
}
