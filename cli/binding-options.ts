import { Option, type Command } from "commander";
import { bindPattern, checkHeadLayer, estimatedInputs, keepsNothing } from "../compiler/bind.js";
import type { Binding } from "../ir/pattern/binding.js";
import { nodeHost } from "../compiler/node-host.js";
import { compileProgram, programFailed, selectPattern, type Program } from "../compiler/program.js";
import type { SourceFile } from "../diagnostics/source.js";
import { printDiagnostics, CommandFailed, integerOption, keyValues, readJson } from "./io.js";

/** Options every command that works on one bound pattern takes (mask, plan, emit, run). */
export interface BindingOptions {
  readonly pattern?: string;
  readonly param: string[];
  readonly input: string[];
  readonly qLen?: string;
  readonly kvLen?: string;
  readonly heads?: string;
  readonly kvHeads?: string;
  readonly layers?: string;
  readonly head?: string;
  readonly layer?: string;
  /** run: the pattern's estimator chooses the inputs it names (they are bound empty here). */
  readonly estimate?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * `lengths`: "required" (mask, plan), "optional" (emit: the kernel does not depend on them) or "tensors"
 * (run: the shapes come from the .npy files, so no length or head options are offered).
 */
export function addBindingOptions(command: Command, options: { lengths?: "required" | "optional" | "tensors" } = {}): Command {
  const mode = options.lengths ?? "required";
  command
    .option("--pattern <name>", "the pattern to use (default: the only pattern declared in FILE)")
    .option("--param <name=value>", "set a parameter; repeat for several", collect, [])
    .option("--input <name=file.json>", "a runtime input as JSON nested arrays; repeat for several", collect, []);
  if (mode !== "tensors") {
    const note = mode === "optional" ? " (default 1: the output does not depend on it)" : "";
    command
      .addOption(new Option("--q-len <Q>", `number of query rows (they sit at the end of the keys: q = K - Q + i)${note}`).default(mode === "optional" ? "1" : undefined))
      .addOption(new Option("--kv-len <K>", `number of keys${note}`).default(mode === "optional" ? "1" : undefined))
      .option("--heads <N>", "query heads H", "1")
      .option("--kv-heads <N>", "key/value heads KVH (default: H)")
      .option("--head <h>", "the query head to show", "0");
  }
  return command
    .option("--layers <N>", "layers L", "1")
    .option("--layer <l>", "the layer to use", "0");
}

export interface BoundSelection {
  readonly program: Program;
  readonly binding: Binding;
  readonly head: number;
  readonly layer: number;
}

/** Loads FILE, picks the pattern, binds parameters, lengths and inputs; stops with diagnostics on any error. */
export function bindFromOptions(file: string, options: BindingOptions): BoundSelection {
  const program = compileProgram([file], nodeHost);
  const fail = (diagnostics: CommandFailed["diagnostics"], sources: ReadonlyMap<string, SourceFile> = program.sources): never => {
    throw new CommandFailed(diagnostics, sources);
  };
  if (programFailed(program)) fail(program.diagnostics);
  printDiagnostics(program.diagnostics, program.sources); // warnings
  const pattern = selectPattern(program, file, options.pattern);
  if ("code" in pattern) return fail([pattern]);
  const params = keyValues(options.param, "--param");
  const inputFiles = keyValues(options.input, "--input");
  const inputs = new Map<string, unknown>();
  for (const [name, path] of inputFiles) inputs.set(name, readJson(path, `runtime input \`${name}\``));
  const qLen = integerOption(options.qLen, "--q-len");
  const kvLen = integerOption(options.kvLen, "--kv-len");
  const heads = integerOption(options.heads, "--heads", 1);
  const estimated = options.estimate === true ? estimatedInputs(pattern) : new Set<string>();
  if (!(estimated instanceof Set)) return fail([estimated]);
  const bound = bindPattern(pattern, {
    estimated,
    params,
    inputs,
    shape: { qLen, kvLen, heads, kvHeads: integerOption(options.kvHeads, "--kv-heads", heads), layers: integerOption(options.layers, "--layers", 1) },
    describeInput: (name) => (inputFiles.has(name) ? `runtime input \`${name}\` (${inputFiles.get(name) ?? ""})` : `runtime input \`${name}\``),
  });
  if (!bound.ok) return fail(bound.diagnostics);
  printDiagnostics([...bound.diagnostics, ...keepsNothing(bound.value)], program.sources); // warnings
  const head = integerOption(options.head, "--head", 0);
  const layer = integerOption(options.layer, "--layer", 0);
  const problems = checkHeadLayer(bound.value, head, layer);
  if (problems.length > 0) fail(problems);
  return { program, binding: bound.value, head, layer };
}

