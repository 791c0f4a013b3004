import { diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { EstimateClause } from "../grammar/ast.js";
import { estimatorCatalog } from "../ir/estimate/catalog.js";
import type { EstimatorDecl, EstimatorSetting } from "../ir/pattern/pattern.js";
import { postOrder } from "../ir/pattern/pattern.js";
import type { ExprChecker } from "./check-expr.js";
import type { Scope } from "./check-scope.js";

/**
 * Part of pass `check`: an `estimate` clause → EstimatorDecl. The estimator must exist; its positional
 * arguments must name inputs of the pattern, of the kinds it writes, laid out per query head ([H]); block
 * sets must have square blocks (the estimator pools both sides alike); settings must be known names with
 * integer values fixed at launch (literals, parameters, sizes), or literal fractions in (0, 1] where the
 * estimator takes one. Reports STP209 and returns undefined on error.
 */
export function checkEstimate(clause: EstimateClause, expressions: ExprChecker, scope: Scope): EstimatorDecl | undefined {
  const fail = (message: string, span: EstimateClause["span"], hint: string): undefined => {
    scope.report(diagnostic("STP209", message, { span, hint }));
    return undefined;
  };
  const spec = estimatorCatalog[clause.name.name];
  if (spec === undefined) {
    const known = Object.keys(estimatorCatalog);
    return fail(`there is no estimator \`${clause.name.name}\``, clause.name.span, didYouMean(clause.name.name, known) ?? `estimators: ${known.join(", ")}`);
  }
  const positional = clause.args.filter((a) => a.name === undefined);
  if (positional.length !== spec.outputs.length) {
    return fail(`\`${clause.name.name}\` writes ${spec.outputs.length} input${spec.outputs.length === 1 ? "" : "s"} (${spec.outputs.join(", ")}), but ${positional.length} ${positional.length === 1 ? "is" : "are"} named`, clause.span,
      `name the pattern's inputs first: estimate ${clause.name.name}(${spec.outputs.map((kind) => `<${kind}[H] input>`).join(", ")}, …)`);
  }
  const outputs: string[] = [];
  for (const [at, arg] of positional.entries()) {
    const kind = spec.outputs[at];
    const input = arg.value.kind === "name" ? scope.inputs.get(arg.value.name) : undefined;
    if (input === undefined || input.kind !== kind || input.dims.length !== 1 || input.dims[0] !== "H") {
      return fail(`argument ${at + 1} of \`${clause.name.name}\` must name an input of type ${kind}[H]`, arg.value.span, `declare e.g. \`input ${kind === "index" ? "vertical: index[H]" : "blocks: blocks[H](64, 64)"}\` and pass its name`);
    }
    if (input.blockSize !== undefined && input.blockSize[0] !== input.blockSize[1]) {
      return fail(`\`${clause.name.name}\` pools queries and keys over the same blocks, but \`${input.name}\` has rows and columns of different sizes`, arg.value.span, "declare the block set with equal sizes, e.g. blocks[H](block, block)");
    }
    outputs.push(input.name);
  }
  const settings = new Map<string, EstimatorSetting>();
  for (const arg of clause.args) {
    if (arg.name === undefined) continue;
    const name = arg.name.name;
    const setting = spec.settings[name];
    if (setting === undefined) {
      return fail(`\`${clause.name.name}\` has no setting \`${name}\``, arg.name.span, didYouMean(name, Object.keys(spec.settings)) ?? `settings: ${Object.keys(spec.settings).join(", ")}`);
    }
    if (setting.kind === "fraction") {
      const literal = arg.value.kind === "decimal" || arg.value.kind === "int" ? arg.value.value : undefined;
      if (literal === undefined || !(literal > 0 && literal <= 1)) {
        return fail(`setting \`${name}\` must be a number in (0, 1]`, arg.value.span, `write a fraction of the attention mass, e.g. \`${name} = ${setting.default}\``);
      }
      settings.set(name, { kind: "fraction", value: literal });
      continue;
    }
    const value = expressions.int(arg.value, scope);
    if (value === undefined) return undefined;
    if (postOrder(value).some((node) => node.kind === "var" || node.kind === "lookup")) {
      return fail(`setting \`${name}\` must be fixed at launch`, arg.value.span, "use literals, parameters and sizes (Q, K, H, …), not positions or heads");
    }
    settings.set(name, { kind: "int", value });
  }
  return { name: clause.name.name, outputs, settings, span: clause.span };
}
