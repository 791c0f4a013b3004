import { emitCuda } from "../backends/cuda/emit.js";
import { cudaLowering } from "../backends/cuda/schedule.js";
import type { WebGpuContext } from "../backends/wgsl/device.js";
import { emitWgsl } from "../backends/wgsl/emit.js";
import { runAttention } from "../backends/wgsl/run.js";
import { bindPattern, sizesOf } from "../compiler/bind.js";
import { memoryHost } from "../compiler/load.js";
import { compileProgram } from "../compiler/program.js";
import { catalog } from "../diagnostics/catalog.js";
import { DiagnosticError, hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import { location, renderDiagnostics } from "../diagnostics/render.js";
import type { SourceFile } from "../diagnostics/source.js";
import type { Bitset } from "../ir/mask/bitset.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { headContext, keepsPair } from "../ir/mask/interpret.js";
import type { Binding } from "../ir/pattern/binding.js";
import { dynamismOf, type PatternDef } from "../ir/pattern/pattern.js";
import { planProblem } from "../ir/plan/verify.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../ir/reference/tolerance.js";
import { lowerAttention } from "../passes/lower.js";
import { planPattern } from "../passes/plan.js";
import type { ExampleSources, FuzzCase } from "./generate.js";
import { randomInputs, randomParams, randomShape, seededRandom, type Random } from "./random-inputs.js";

/**
 * The fuzzer's oracle: what must hold for any source. Either the front end rejects it with well-formed coded
 * diagnostics (a known code, a span inside the file, rendered as file:line:col with no stack trace), or it
 * accepts it; then each pattern, bound to small random shapes, parameters and inputs, must agree across
 * stages: the compiled mask evaluator with the tree-walking interpreter, the block plan with the mask, the
 * kernel IR with its verifier, both printers without an exception other than a coded refusal, and (when a
 * device is given) the WGSL kernel with the dense reference, inside guarded buffers.
 */
export type Verdict =
  | { readonly kind: "rejected"; readonly codes: readonly string[] }
  | { readonly kind: "accepted"; readonly bound: number; readonly refused: number; readonly deviceRuns: number }
  | { readonly kind: "failed"; readonly stage: Stage; readonly message: string };

export type Stage = "front end" | "diagnostics" | "bind" | "mask" | "plan" | "lower" | "emit" | "device";

export interface OracleOptions {
  /** Run the WGSL kernel of each bound pattern on this adapter and compare with the reference. */
  readonly device?: WebGpuContext;
  /** Longest key length bound (default 40: every pair is checked, several times over). */
  readonly maxLength?: number;
}

export const entryFile = "fuzz.stip";

/** A failure of the compiler, as opposed to a coded refusal (DiagnosticError), which is allowed anywhere. */
class OracleFailure extends Error {
  constructor(readonly stage: Stage, message: string) {
    super(message);
  }
}

export async function checkCase(fuzzCase: FuzzCase, examples: ExampleSources, options: OracleOptions = {}): Promise<Verdict> {
  try {
    return await judge(fuzzCase, examples, options);
  } catch (error) {
    if (error instanceof OracleFailure) return { kind: "failed", stage: error.stage, message: error.message };
    return { kind: "failed", stage: "front end", message: `uncaught ${describeError(error)}` };
  }
}

async function judge(fuzzCase: FuzzCase, examples: ExampleSources, options: OracleOptions): Promise<Verdict> {
  const files = new Map([...examples, [entryFile, fuzzCase.source]]);
  const program = at("front end", () => compileProgram([entryFile], memoryHost(files)));
  checkDiagnostics(program.diagnostics, program.sources);
  if (hasErrors(program.diagnostics)) return { kind: "rejected", codes: program.diagnostics.map((d) => d.code) };
  let bound = 0, refused = 0, deviceRuns = 0;
  const names = (program.declaredIn.get(entryFile) ?? []).slice(0, 3);
  for (const [index, name] of names.entries()) {
    const pattern = program.patterns.get(name);
    if (pattern === undefined) throw new OracleFailure("front end", `pattern \`${name}\` checked without errors but is missing from the program`);
    const random = seededRandom(fuzzCase.bindSeed + index);
    const binding = bindRandomly(pattern, random, options.maxLength ?? 40, program.sources);
    if (binding === undefined) {
      refused++;
      continue;
    }
    bound++;
    const masks = refusable(() => checkStages(binding, random));
    if (masks === undefined) {
      refused++;
      continue;
    }
    if (options.device !== undefined) {
      await checkOnDevice(options.device, binding, masks, random);
      deviceRuns++;
    }
  }
  return { kind: "accepted", bound, refused, deviceRuns };
}

/** Runs one stage; an exception other than a coded refusal becomes a failure of that stage. */
function at<T>(stage: Stage, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof DiagnosticError || error instanceof OracleFailure) throw error;
    throw new OracleFailure(stage, `uncaught ${describeError(error)}`);
  }
}

/** A coded refusal (DiagnosticError) gives undefined; its diagnostics must still be well formed. */
function refusable<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof DiagnosticError)) throw error;
    checkDiagnostics(error.diagnostics, new Map());
    return undefined;
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Every diagnostic: a catalogued code and severity, a real message, a span inside its file, rendered with its place. */
export function checkDiagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>): void {
  for (const d of diagnostics) {
    const problem = diagnosticProblem(d, sources);
    if (problem !== undefined) throw new OracleFailure("diagnostics", `${d.code} "${d.message}": ${problem}`);
  }
}

function diagnosticProblem(d: Diagnostic, sources: ReadonlyMap<string, SourceFile>): string | undefined {
  if (!(d.code in catalog)) return "unknown code";
  if (catalog[d.code].severity !== d.severity) return "severity differs from the catalog";
  if (d.message.trim() === "") return "empty message";
  if (/\bundefined\b|\bNaN\b|\[object Object\]/.test(`${d.message} ${d.hint ?? ""}`)) return "the message shows an unprinted value";
  if (d.span === undefined) return undefined;
  const source = sources.get(d.span.file);
  if (source === undefined) return sources.size === 0 ? undefined : `span in unknown file ${d.span.file}`;
  if (d.span.start < 0 || d.span.start > d.span.end || d.span.end > source.text.length) return `span ${d.span.start}…${d.span.end} outside the ${source.text.length} characters of ${d.span.file}`;
  const rendered = renderDiagnostics([d], (path) => sources.get(path));
  if (!rendered.includes(location(d.span, (path) => sources.get(path)))) return "rendered without its file:line:col";
  if (/\n\s+at .+:\d+:\d+/.test(rendered)) return "rendered with a stack trace";
  return undefined;
}

function bindRandomly(pattern: PatternDef, random: Random, maxLength: number, sources: ReadonlyMap<string, SourceFile>): Binding | undefined {
  return at("bind", () => {
    const shape = randomShape(random, maxLength);
    const params = randomParams(pattern, random);
    const inputs = randomInputs(pattern, params, shape, random);
    const result = bindPattern(pattern, { shape, params, inputs });
    checkDiagnostics(result.diagnostics, sources);
    return result.ok ? result.value : undefined;
  });
}

const wgslTiles = [16, 32, 64] as const;
const planTiles = [1, 3, 8, 16, 64] as const;

/** Mask against interpreter and plan for every head and layer, then lowering and both printers; the masks come back. */
function checkStages(binding: Binding, random: Random): Bitset[][] {
  const { Q, K, H, L } = binding.sizes;
  const masks: Bitset[][] = [];
  for (let layer = 0; layer < L; layer++) {
    const perHead: Bitset[] = [];
    for (let head = 0; head < H; head++) {
      const mask = at("mask", () => evaluateMask(binding, head, layer));
      const context = headContext(binding, head, layer);
      for (let i = 0; i < Q; i++) {
        for (let k = 0; k < K; k++) {
          const expected = at("mask", () => keepsPair(binding.pattern.body, context, i, k));
          if (expected !== mask.get(i, k)) throw new OracleFailure("mask", `head ${head} layer ${layer}: the evaluator ${mask.get(i, k) ? "keeps" : "drops"} (${i}, ${k}), the interpreter does not (${sizesText(binding)})`);
        }
      }
      const schedule = { blockM: pick(random, planTiles), blockN: pick(random, planTiles) };
      const { plan } = at("plan", () => planPattern(binding, { head, layer }, schedule));
      const problem = planProblem(plan, mask);
      if (problem !== undefined) throw new OracleFailure("plan", `head ${head} layer ${layer}, tiles ${schedule.blockM} × ${schedule.blockN}: ${problem} (${sizesText(binding)})`);
      perHead.push(mask);
    }
    masks.push(perHead);
    checkLowering(binding, layer, random);
  }
  return masks;
}

function checkLowering(binding: Binding, layer: number, random: Random): void {
  const launches = at("lower", () => lowerAttention(binding, layer, { headDim: 32, dtype: "f32", blockM: pick(random, wgslTiles), blockN: pick(random, wgslTiles) }));
  const heads = launches.flatMap((launch) => launch.heads).sort((a, b) => a - b);
  if (heads.length !== binding.sizes.H || heads.some((h, at) => h !== at)) throw new OracleFailure("lower", `the launches serve heads ${heads.join(", ")} of ${binding.sizes.H}`);
  for (const { kernel } of launches) at("emit", () => emitWgsl(kernel));
  if (dynamismOf(binding.pattern) !== "static") return;
  const cuda = at("lower", () => lowerAttention(binding, layer, { headDim: 64, dtype: "f16", ...cudaLowering }));
  for (const { kernel } of cuda) refusable(() => at("emit", () => emitCuda(kernel)));
}

/** The WGSL kernel on the adapter, in guarded buffers, against the Float64 reference on the same masks. */
async function checkOnDevice(device: WebGpuContext, binding: Binding, masks: readonly (readonly Bitset[])[], random: Random): Promise<void> {
  const { Q, K, H, KVH } = binding.sizes;
  const D = 32;
  const tensor = (length: number): Float32Array => Float32Array.from({ length }, () => (random(2001) - 1000) / 500);
  const q = tensor(H * Q * D), k = tensor(KVH * K * D), v = tensor(KVH * K * D);
  const layer = random(binding.sizes.L);
  const launches = at("lower", () => lowerAttention(binding, layer, { headDim: D, dtype: "f32", blockM: pick(random, wgslTiles), blockN: pick(random, wgslTiles) }));
  let result;
  try {
    result = await runAttention(device, launches, { q, k, v }, sizesOf({ qLen: Q, kvLen: K, heads: H, kvHeads: KVH, layers: binding.sizes.L }), { guard: true, splits: 1 + random(3) });
  } catch (error) {
    throw new OracleFailure("device", describeError(error));
  }
  const reference = denseAttention({
    q: { shape: [H, Q, D], data: q }, k: { shape: [KVH, K, D], data: k }, v: { shape: [KVH, K, D], data: v },
    maskOf: (head) => masks[layer]?.[head] ?? evaluateMask(binding, head, layer),
  });
  const { maxAbsError, scale } = compareOutputs(reference.out, result.out);
  if (!(maxAbsError / scale <= outputTolerance.f32)) throw new OracleFailure("device", `layer ${layer}: max abs error ${maxAbsError} (scale ${scale}) above ${outputTolerance.f32} (${sizesText(binding)})`);
}

function pick<T>(random: Random, choices: readonly T[]): T {
  const choice = choices[random(choices.length)];
  if (choice === undefined) throw new Error("no choices");
  return choice;
}

function sizesText(binding: Binding): string {
  const { Q, K, H, KVH, L } = binding.sizes;
  const params = [...binding.params].map(([name, value]) => `${name} = ${value}`).join(", ");
  return `Q ${Q}, K ${K}, H ${H}, KVH ${KVH}, L ${L}${params === "" ? "" : `; ${params}`}`;
}
