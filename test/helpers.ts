import { readFileSync } from "node:fs";
import { bindPattern, type LaunchShape } from "../compiler/bind.js";
import { compileProgram } from "../compiler/program.js";
import { memoryHost } from "../compiler/load.js";
import { nodeHost } from "../compiler/node-host.js";
import { hasErrors } from "../diagnostics/diagnostic.js";
import { renderDiagnostics } from "../diagnostics/render.js";
import type { PatternDef } from "../ir/pattern/pattern.js";
import type { Binding } from "../ir/pattern/binding.js";

export const exampleNames = [
  "a_shape", "sliding_window", "tri_shape", "dilated", "prefix_lm", "vertical_slash", "block_sparse", "grid", "ladder", "document", "duo",
] as const;

/** A checked pattern from a source string; fails the test with rendered diagnostics on any error. */
export function patternFromSource(source: string, name: string, extraFiles: Record<string, string> = {}): PatternDef {
  const program = compileProgram(["main.stip"], memoryHost({ "main.stip": source, ...extraFiles }));
  const def = program.patterns.get(name);
  if (def === undefined || hasErrors(program.diagnostics)) {
    throw new Error(`pattern ${name} did not check:\n${renderDiagnostics(program.diagnostics, (p) => program.sources.get(p))}`);
  }
  return def;
}

export function examplePattern(name: string): PatternDef {
  const program = compileProgram([`examples/${name}.stip`], nodeHost);
  const def = program.patterns.get(name);
  if (def === undefined || program.diagnostics.length > 0) throw new Error(`example ${name} did not check`);
  return def;
}

export function bindOrThrow(pattern: PatternDef, shape: LaunchShape, params: Record<string, number> = {}, inputs: Record<string, unknown> = {}): Binding {
  const bound = bindPattern(pattern, { shape, params: new Map(Object.entries(params)), inputs: new Map(Object.entries(inputs)) });
  if (!bound.ok) throw new Error(bound.diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n"));
  return bound.value;
}

export function readText(path: string): string {
  return readFileSync(path, "utf8");
}

/** Deterministic uniform values in [−magnitude, magnitude): tensors for kernel tests. */
export function randomTensor(length: number, seed: number, magnitude = 1): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * magnitude;
  });
}
