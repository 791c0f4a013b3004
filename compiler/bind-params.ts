import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { evalConstant, type Sizes } from "../ir/pattern/eval-int.js";
import type { IntNode } from "../ir/pattern/nodes.js";
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
  const divisors: IntNode[] = [];
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
