import { dirname, relative } from "node:path";
import { Project, StructureKind, VariableDeclarationKind, type OptionalKind, type PropertySignatureStructure, type SourceFile } from "ts-morph";
import type { InputRef } from "../ir/pattern/nodes.js";
import type { PatternDef } from "../ir/pattern/pattern.js";
import { printEstimatorDecl, printInputRef } from "../ir/pattern/print.js";
import { shapeText } from "./bind-inputs.js";
import type { Program } from "./program.js";
import { describeHeadDims, headDimsOf } from "../backends/head-dims.js";
import { wgslCapabilities } from "../backends/wgsl/schedule.js";

/**
 * `stipple bindings`: one typed TypeScript module per pattern, generated with ts-morph. Its parameters and
 * runtime inputs become interfaces (shapes in doc comments), and `compileNAME` / `run` accept only them, so
 * a misspelt parameter, a missing input or an unsupported head dim is a type error, not a run-time one.
 * The pattern's `.stip` sources (with their imports) are embedded, so the module compiles the kernel itself
 * for any parameters, in Node or a browser.
 */
export interface BindingsOptions {
  /** The module specifier the generated code imports Stipple from (default "stipple"). */
  readonly importFrom?: string;
}

export interface GeneratedBinding {
  readonly pattern: string;
  readonly fileName: string;
  readonly text: string;
}

/** Bindings for the patterns declared in `file` (not the ones it imports); `program` is `file`'s own (compileProgram([file])). */
export function generateBindings(program: Program, file: string, options: BindingsOptions = {}): GeneratedBinding[] {
  const project = new Project({ useInMemoryFileSystem: true });
  const sources = embeddedSources(program, file);
  return (program.declaredIn.get(file) ?? []).flatMap((name) => {
    const pattern = program.patterns.get(name);
    if (pattern === undefined) return [];
    const fileName = `${name}.ts`;
    const sourceFile = project.createSourceFile(fileName, "", { overwrite: true });
    writeModule(sourceFile, pattern, file, sources, options.importFrom ?? "stipple");
    sourceFile.formatText({ indentSize: 2, convertTabsToSpaces: true });
    return [{ pattern: name, fileName, text: sourceFile.getFullText() }];
  });
}

/** The entry file and every file it imports, keyed by path relative to the entry's folder (as imports resolve). */
function embeddedSources(program: Program, file: string): Record<string, string> {
  const base = dirname(file);
  const entries: [string, string][] = [];
  for (const [path, source] of program.sources) entries.push([path === file ? entryName : relative(base, path), source.text]);
  return Object.fromEntries(entries.sort(([a], [b]) => (a === entryName ? -1 : b === entryName ? 1 : a.localeCompare(b))));
}

/** The name compile() gives a source passed as text; imports resolve beside it. */
const entryName = "<source>.stip";

function typeName(pattern: string): string {
  return pattern.split(/_+/).filter((part) => part !== "").map((part) => part[0]?.toUpperCase() + part.slice(1)).join("");
}

function writeModule(out: SourceFile, pattern: PatternDef, file: string, sources: Record<string, string>, importFrom: string): void {
  const name = typeName(pattern.name);
  const estimated = pattern.estimator?.outputs ?? [];
  out.addImportDeclaration({
    moduleSpecifier: importFrom,
    namedImports: ["compile", "memoryHost", { name: "AttentionResult", isTypeOnly: true }, { name: "WebGpuContext", isTypeOnly: true }, { name: "Diagnostic", isTypeOnly: true }],
  });
  if (pattern.params.length === 0) {
    // Not an empty interface: `{}` would accept any object; this refuses every property.
    out.addTypeAlias({ name: `${name}Params`, isExported: true, docs: [`\`${pattern.name}\` has no parameters.`], type: "Readonly<Record<string, never>>" });
  } else out.addInterface({
    name: `${name}Params`, isExported: true,
    docs: [`Parameters of \`${pattern.name}\`, compiled into the kernel. Those without a default are required.`],
    properties: pattern.params.map((p): OptionalKind<PropertySignatureStructure> => ({
      name: p.name, type: "number", isReadonly: true, hasQuestionToken: p.default !== undefined,
      docs: [`\`int${p.min === undefined && p.max === undefined ? "" : `(${p.min ?? ""}..${p.max ?? ""})`}\`${p.default === undefined ? "" : `, default ${p.default}`}`],
    })),
  });
  out.addInterface({
    name: `${name}Inputs`, isExported: true,
    docs: [pattern.inputs.length === 0 ? `\`${pattern.name}\` reads no runtime inputs.` : `Runtime inputs of \`${pattern.name}\`, given per launch.`],
    properties: pattern.inputs.map(({ ref }): OptionalKind<PropertySignatureStructure> => ({
      name: ref.name, type: inputType(ref), isReadonly: true,
      docs: [`\`${printInputRef(ref)}\`: ${shapeText(ref)}.${estimated.includes(ref.name) ? " The estimator can choose it (`runEstimated`)." : ""}`],
    })),
  });
  const inputsRequired = pattern.inputs.length > 0;
  out.addTypeAlias({
    name: `${name}Shape`, isExported: true,
    docs: ["Lengths and counts of one launch (Q ≤ K; H a multiple of KVH), with the runtime inputs."],
    type: `{ readonly qLen: number; readonly kvLen: number; readonly heads?: number; readonly kvHeads?: number; readonly layers?: number; readonly inputs${inputsRequired ? "" : "?"}: ${name}Inputs }`,
  });
  // Every head dim the kernel takes, spelled out: a dim it does not take (98) is a type error.
  out.addTypeAlias({ name: "HeadDim", isExported: true, docs: [`Head dimensions the WGSL kernel supports: ${describeHeadDims(wgslCapabilities.headDims)}.`], type: headDimsOf(wgslCapabilities.headDims).join(" | ") });
  out.addInterface({
    name: `${name}Options`, isExported: true,
    properties: [
      { name: "params", type: `${name}Params`, isReadonly: true, hasQuestionToken: pattern.params.every((p) => p.default !== undefined) },
      { name: "headDim", type: "HeadDim", isReadonly: true },
      { name: "dtype", type: `"f32" | "f16"`, isReadonly: true, hasQuestionToken: true, docs: ["Tensor type on the device (math is f32); default f32."] },
    ],
  });
  out.addInterface({
    name: `Compiled${name}`, isExported: true,
    properties: [{ name: "source", type: "string", isReadonly: true, docs: ["The WGSL kernel (what `stipple emit` prints)."] }],
    methods: [
      { name: "run", docs: ["q [H, Q, D], k and v [KVH, K, D]; returns out [H, Q, D] and lse [H, Q]."], parameters: [{ name: "device", type: "WebGpuContext" }, { name: "tensors", type: "{ readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array }" }, { name: "shape", type: `${name}Shape` }], returnType: "Promise<AttentionResult>" },
      ...(estimated.length === 0 ? [] : [{
        name: "runEstimated",
        docs: [`Lets the pattern's estimator (\`${pattern.estimator === undefined ? "" : printEstimatorDecl(pattern.estimator)}\`) choose ${estimated.map((e) => `\`${e}\``).join(", ")} on the device, then attends.`],
        // When the estimator chooses every input, none may be given (an empty Omit would accept anything).
        parameters: [{ name: "device", type: "WebGpuContext" }, { name: "tensors", type: "{ readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array }" }, { name: "shape", type: `Omit<${name}Shape, "inputs"> & { readonly inputs${pattern.inputs.length > estimated.length ? `: Omit<${name}Inputs, ${estimated.map((e) => JSON.stringify(e)).join(" | ")}>` : "?: Readonly<Record<string, never>>"} }` }],
        returnType: `Promise<AttentionResult & { readonly inputs: Pick<${name}Inputs, ${estimated.map((e) => JSON.stringify(e)).join(" | ")}> }>`,
      }]),
    ],
  });
  out.addVariableStatement({
    isExported: true, declarationKind: VariableDeclarationKind.Const,
    docs: ["The pattern's `.stip` sources, the entry first, then what it imports."],
    declarations: [{ name: "sources", initializer: JSON.stringify(sources, null, 2), type: "Readonly<Record<string, string>>" }],
  });
  out.addFunction({
    kind: StructureKind.Function, name: `compile${name}`, isExported: true,
    docs: [`Compiles \`${pattern.name}\` for WebGPU; throws with the diagnostics if the parameters do not fit the pattern.`],
    parameters: [{ name: "options", type: `${name}Options` }],
    returnType: `Compiled${name}`,
    statements: [
      `const entry = sources[${JSON.stringify(entryName)}] ?? "";`,
      `const compiled = compile(entry, { pattern: ${JSON.stringify(pattern.name)}, params: { ...options.params }, headDim: options.headDim, dtype: options.dtype ?? "f32", host: memoryHost(sources) });`,
      "if (!compiled.ok) throw new Error(describe(compiled.diagnostics));",
      "const kernel = compiled.value;",
      "return {",
      "  source: kernel.source,",
      "  run: (device, tensors, shape) => kernel.run(device, { ...tensors }, { ...shape, inputs: { ...shape.inputs } }),",
      ...(estimated.length === 0 ? [] : [`  runEstimated: async (device, tensors, shape) => {
    const result = await kernel.run(device, { ...tensors }, { ...shape, inputs: { ...shape.inputs } }, { estimate: true });
    return { ...result, inputs: result.inputs as unknown as Pick<${name}Inputs, ${estimated.map((e) => JSON.stringify(e)).join(" | ")}> };
  },`]),
      "};",
    ],
  });
  out.addFunction({
    name: "describe",
    parameters: [{ name: "diagnostics", type: "readonly Diagnostic[]" }],
    returnType: "string",
    statements: ["return diagnostics.map((d) => `${d.code}: ${d.message}${d.hint === undefined ? \"\" : ` (${d.hint})`}`).join(\"\\n\");"],
  });
  out.insertStatements(0, `// Generated by \`stipple bindings\` from ${file}: do not edit; regenerate after changing the pattern.`);
}

/** The TypeScript type of an input's JSON value: one array level per axis other than K, then the leaf. */
function inputType(ref: InputRef): string {
  const leaf = ((): string => {
    switch (ref.kind) {
      case "index": return "readonly number[]";
      case "blocks": return "readonly (readonly (0 | 1)[])[]";
      case "bool": return "0 | 1 | boolean";
      case "ids": return "readonly number[]";
    }
  })();
  if (ref.kind === "ids") return leaf;
  return ref.dims.filter((axis) => axis !== "K").reduce((inner) => `readonly (${inner})[]`, leaf);
}
