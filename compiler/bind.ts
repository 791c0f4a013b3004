import { diagnostic, failed, ok, type Diagnostic, type Result } from "../diagnostics/diagnostic.js";
import { maxLength, type Sizes } from "../ir/pattern/eval-int.js";
import { dynamismOf, type PatternDef } from "../ir/pattern/pattern.js";
import { planPattern } from "../passes/plan.js";
import type { Binding } from "../ir/pattern/binding.js";
import { bindInputs } from "./bind-inputs.js";
import { bindParams, checkArithmetic, checkDivisors } from "./bind-params.js";

/** Lengths and counts of one launch. kvHeads defaults to heads, layers to 1. */
export interface LaunchShape {
  readonly qLen: number;
  readonly kvLen: number;
  readonly heads?: number;
  readonly kvHeads?: number;
  readonly layers?: number;
}

export interface BindRequest {
  readonly params?: ReadonlyMap<string, string | number>;
  readonly shape: LaunchShape;
  readonly inputs?: ReadonlyMap<string, unknown>;
  /** Names where an input came from, for messages ("doc.json"). */
  readonly describeInput?: (name: string) => string;
  /** Inputs the pattern's estimator writes on the device: bound empty, and not to be given. */
  readonly estimated?: ReadonlySet<string>;
}

export function bindPattern(pattern: PatternDef, request: BindRequest): Result<Binding> {
  const sizes = sizesOf(request.shape);
  const sizeProblems = checkSizes(pattern, sizes);
  if (sizeProblems.length > 0) return failed(sizeProblems);
  const { params, diagnostics } = bindParams(pattern, request.params ?? new Map());
  if (diagnostics.length > 0) return failed(diagnostics);
  const divisorProblems = checkDivisors(pattern, params, sizes);
  if (divisorProblems.length > 0) return failed(divisorProblems);
  const overflow = checkArithmetic(pattern, params, sizes);
  if (overflow.length > 0) return failed(overflow);
  const bound = bindInputs(pattern, request.inputs ?? new Map(), params, sizes, request.describeInput, request.estimated);
  if (bound.diagnostics.length > 0) return failed(bound.diagnostics);
  const binding: Binding = { pattern, params, sizes, inputs: bound.inputs };
  return ok(binding);
}

export function sizesOf(shape: LaunchShape): Sizes {
  const heads = shape.heads ?? 1;
  return { Q: shape.qLen, K: shape.kvLen, H: heads, KVH: shape.kvHeads ?? heads, L: shape.layers ?? 1 };
}


function checkSizes(pattern: PatternDef, sizes: Sizes): Diagnostic[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 1 || value > maxLength) problems.push(`${name} = ${value} must be an integer in 1…${maxLength}`);
  }
  if (problems.length === 0 && sizes.Q > sizes.K) {
    problems.push(`the query length ${sizes.Q} exceeds the key length ${sizes.K}; queries sit at the end of the keys (q = K − Q + i), so Q ≤ K`);
  }
  if (problems.length === 0 && sizes.H % sizes.KVH !== 0) {
    problems.push(`${sizes.H} query heads cannot be grouped over ${sizes.KVH} key/value heads (H must be a multiple of KVH)`);
  }
  return problems.map((message) => diagnostic("STP310", message, { span: pattern.span, hint: "check --q-len, --kv-len, --heads, --kv-heads and --layers" }));
}

export function checkHeadLayer(binding: Binding, head: number, layer: number): Diagnostic[] {
  const { H, L } = binding.sizes;
  const problems: Diagnostic[] = [];
  if (!Number.isInteger(head) || head < 0 || head >= H) {
    problems.push(diagnostic("STP311", `head ${head} is outside 0…${H - 1}`, { span: binding.pattern.span, hint: "raise --heads or lower --head" }));
  }
  if (!Number.isInteger(layer) || layer < 0 || layer >= L) {
    problems.push(diagnostic("STP311", `layer ${layer} is outside 0…${L - 1}`, { span: binding.pattern.span, hint: "raise --layers or lower --layer" }));
  }
  return problems;
}

/** The inputs a pattern's estimator writes (`run --estimate`); a pattern that names none cannot be estimated. */
export function estimatedInputs(pattern: PatternDef): Set<string> | Diagnostic {
  if (pattern.estimator === undefined) {
    const kinds = new Set(pattern.inputs.map((i) => i.ref.kind));
    const example = kinds.has("blocks") ? "e.g. `estimate block_top_k(blocks, top_k = 16)`" : kinds.has("index") ? "e.g. `estimate vertical_slash(vertical, slash, last_q = 64)`" : "(estimators fill index[H] and blocks[H] inputs)";
    return diagnostic("STP314", `pattern \`${pattern.name}\` names no estimator, so --estimate cannot choose its inputs`, {
      span: pattern.span, hint: `add an estimate clause after its body ${example}, or give the inputs (--input, or shape.inputs)`,
    });
  }
  return new Set(pattern.estimator.outputs);
}

/** The same binding with other runtime inputs (those an estimator chose, say): lengths and parameters kept. */
export function withInputs(binding: Binding, inputs: Readonly<Record<string, unknown>>): Result<Binding> {
  const { Q, K, H, KVH, L } = binding.sizes;
  return bindPattern(binding.pattern, { params: binding.params, shape: { qLen: Q, kvLen: K, heads: H, kvHeads: KVH, layers: L }, inputs: new Map(Object.entries(inputs)) });
}

/** Heads × layers past which the keeps-nothing warning is not looked for (one coarse plan each). */
const keepsNothingScan = 256;

/**
 * A warning (STP401) when a static pattern keeps no pair for these parameters and lengths on any head or
 * layer: its kernels would only write zeros, which is rarely what was meant (a window of 0, say). Not part
 * of bindPattern, which every run calls: a coarse plan costs up to tens of milliseconds (grid at 4k), so
 * only the places that show warnings ask (the CLI).
 */
export function keepsNothing(binding: Binding): Diagnostic[] {
  const { H, L } = binding.sizes;
  if (dynamismOf(binding.pattern) === "dynamic" || H * L > keepsNothingScan) return [];
  // The plan covers every kept pair, so a plan with no segment proves the mask empty; coarse tiles keep it cheap.
  const coarse = { blockM: Math.ceil(binding.sizes.Q / 32), blockN: Math.ceil(binding.sizes.K / 32) };
  for (let layer = 0; layer < L; layer++) {
    for (let head = 0; head < H; head++) {
      if (planPattern(binding, { head, layer }, coarse).plan.tiles.some((tile) => tile.segments.length > 0)) return [];
    }
  }
  const values = [...binding.params].map(([name, v]) => `${name} = ${v}`).join(", ");
  return [diagnostic("STP401", `pattern \`${binding.pattern.name}\` keeps no pair for Q = ${binding.sizes.Q}, K = ${binding.sizes.K}${values === "" ? "" : `, ${values}`}`, {
    span: binding.pattern.span, hint: "every output row will be 0: check the parameters",
  })];
}
