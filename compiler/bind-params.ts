import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { evalConstant, type Sizes } from "../ir/pattern/eval-int.js";
import { intervalIn, type Interval } from "../ir/pattern/analysis.js";
import { isBoolNode, type IntNode, type SizeName, type VarName } from "../ir/pattern/nodes.js";
import { postOrder, type PatternDef } from "../ir/pattern/pattern.js";
import { printNode } from "../ir/pattern/print.js";

const largestMagnitude = 2 ** 31 - 1;

/**
 * Binds parameter values (from the command line as text, or from the API as numbers) to a pattern's
 * parameters: unknown names, non-integers, values outside the declared range and missing values are
 * diagnostics pointing at the declaration.
 */
export function bindParams(pattern: PatternDef, given: ReadonlyMap<string, string | number>): { params: Map<string, number>; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const params = new Map<string, number>();
  const names = pattern.params.map((p) => p.name);
  for (const [name, raw] of given) {
    const declared = pattern.params.find((p) => p.name === name);
    if (declared === undefined) {
      diagnostics.push(diagnostic("STP301", `pattern \`${pattern.name}\` has no parameter \`${name}\``, {
        span: pattern.span,
        hint: didYouMean(name, names) ?? (names.length === 0 ? "this pattern takes no parameters" : `its parameters are ${names.join(", ")}`),
      }));
      continue;
    }
    const value = typeof raw === "number" ? raw : /^[+-]?[0-9][0-9_]*$/.test(raw.trim()) ? Number(raw.trim().replaceAll("_", "")) : Number.NaN;
    if (!Number.isInteger(value)) {
      diagnostics.push(diagnostic("STP302", `parameter \`${name}\` needs an integer, got \`${String(raw)}\``, { span: declared.span, hint: `for example --param ${name}=64` }));
      continue;
    }
    const min = declared.min ?? -largestMagnitude;
    const max = declared.max ?? largestMagnitude;
    if (value < min || value > max) {
      diagnostics.push(diagnostic("STP303", `parameter \`${name}\` = ${value} is outside its range ${declared.min ?? ""}..${declared.max ?? ""}`, {
        span: declared.span, hint: `choose ${name} between ${min} and ${max}`,
      }));
      continue;
    }
    params.set(name, value);
  }
  for (const declared of pattern.params) {
    if (params.has(declared.name) || given.has(declared.name)) continue;
    if (declared.default === undefined) {
      diagnostics.push(diagnostic("STP313", `parameter \`${declared.name}\` has no default and no value was given`, {
        span: declared.span, hint: `give one with --param ${declared.name}=VALUE`,
      }));
    } else params.set(declared.name, declared.default);
  }
  return { params, diagnostics };
}

/** Every divisor and block size of the pattern, which must be at least 1 for the bound values. */
export function checkDivisors(pattern: PatternDef, params: ReadonlyMap<string, number>, sizes: Sizes): Diagnostic[] {
  const divisors: IntNode[] = pattern.inputs.flatMap((input) => input.ref.blockSize ?? []);
  for (const node of postOrder(pattern.body)) {
    if (node.kind === "div" || node.kind === "mod") divisors.push(node.b);
    if ((node.kind === "inBlocks") && node.input.blockSize !== undefined) divisors.push(...node.input.blockSize);
  }
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<IntNode>();
  for (const divisor of divisors) {
    if (reported.has(divisor)) continue;
    const value = evalConstant(divisor, params, sizes);
    if (value >= 1) continue;
    reported.add(divisor);
    const values = [...params].map(([name, v]) => `${name} = ${v}`).join(", ");
    diagnostics.push(diagnostic("STP309", `the divisor \`${printNode(divisor)}\` is ${value} for ${values || "these lengths"}`, {
      span: pattern.span, hint: "`/`, `%` and block sizes need a value of at least 1: change the parameters",
    }));
  }
  return diagnostics;
}

/** The range of 32-bit signed integers, which kernels compute positions and pattern arithmetic in. */
const int32: Interval = [-(2 ** 31), 2 ** 31 - 1];

/**
 * Every integer subexpression of the pattern must stay inside 32 bits for these lengths and parameters,
 * over all positions, heads and layers: kernels compute in i32, and a wrapped value would keep the wrong
 * pairs. Proved by interval arithmetic (sound: a pattern it passes cannot overflow); reported once.
 */
export function checkArithmetic(pattern: PatternDef, params: ReadonlyMap<string, number>, sizes: Sizes): Diagnostic[] {
  const exact = (value: number): Interval => [value, value];
  const span = (from: number, to: number): Interval => [from, Math.max(from, to)];
  const variables: Record<VarName, Interval> = {
    q: span(sizes.K - sizes.Q, sizes.K - 1), k: span(0, sizes.K - 1), i: span(0, sizes.Q - 1),
    h: span(0, sizes.H - 1), kvh: span(0, sizes.KVH - 1), l: span(0, sizes.L - 1),
  };
  const env = { param: (name: string) => exact(params.get(name) ?? 0), size: (name: SizeName) => exact(sizes[name]), variable: (name: VarName) => variables[name], lookup: int32 };
  for (const node of postOrder(pattern.body)) {
    if (isBoolNode(node)) continue;
    const [lo, hi] = intervalIn(node, env);
    if (lo >= int32[0] && hi <= int32[1]) continue;
    const values = [...params].map(([name, v]) => `${name} = ${v}`).join(", ");
    return [diagnostic("STP315", `\`${printNode(node)}\` can reach ${lo < int32[0] ? lo : hi}, outside 32-bit integers, for Q = ${sizes.Q}, K = ${sizes.K}${values === "" ? "" : `, ${values}`}`, {
      span: pattern.span, hint: "kernels compute positions in 32-bit integers: use smaller constants or parameters",
    })];
  }
  return [];
}
