import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import type { Span } from "../../diagnostics/source.js";
import type { Binding } from "../pattern/binding.js";
import { evalConstant } from "../pattern/eval-int.js";
import type { Estimator } from "./estimator.js";
import { blockTopKDefaults, verticalSlashDefaults, xattentionDefaults } from "./estimator.js";

/** A setting of an estimator: an integer (an expression over parameters and sizes) or a fraction in (0, 1]. */
export interface SettingSpec {
  readonly kind: "int" | "fraction";
  readonly default: number;
}

/**
 * The estimators a `.stip` file can name in `estimate NAME(outputs…, setting = value, …)`: the kinds of the
 * inputs each writes (in order; each an input over [H]) and its settings with their defaults.
 */
export interface EstimatorSpec {
  readonly kind: Estimator["kind"];
  readonly outputs: readonly ("index" | "blocks")[];
  readonly settings: Readonly<Record<string, SettingSpec>>;
}

const int = (value: number): SettingSpec => ({ kind: "int", default: value });

export const estimatorCatalog: Readonly<Record<string, EstimatorSpec>> = {
  vertical_slash: {
    kind: "verticalSlash",
    outputs: ["index", "index"],
    settings: {
      last_q: int(verticalSlashDefaults.lastQ), vertical_size: int(verticalSlashDefaults.verticalSize), slash_size: int(verticalSlashDefaults.slashSize),
      first_columns: int(verticalSlashDefaults.firstColumns), near_diagonals: int(verticalSlashDefaults.nearDiagonals),
    },
  },
  block_top_k: { kind: "blockTopK", outputs: ["blocks"], settings: { top_k: int(blockTopKDefaults.topK) } },
  xattention: {
    kind: "xattention",
    outputs: ["blocks"],
    settings: { stride: int(xattentionDefaults.stride), threshold: { kind: "fraction", default: xattentionDefaults.threshold } },
  },
};

/**
 * The estimator of a checked clause, its settings evaluated (missing ones take the defaults). Settings that
 * only the bound values can refute (a stride that does not divide the block) are DiagnosticErrors.
 */
export function estimatorFrom(name: string, outputs: readonly string[], settings: ReadonlyMap<string, number>, blockSize: number | undefined, span?: Span): Estimator {
  const spec = estimatorCatalog[name];
  if (spec === undefined) throw new Error(`unknown estimator ${name}`);
  const setting = (key: string): number => settings.get(key) ?? spec.settings[key]?.default ?? 0;
  for (const [key, value] of settings) {
    if (spec.settings[key]?.kind === "int" && value < 0) refuse(`setting \`${key}\` of \`${name}\` is ${value}`, "estimator budgets and sizes are counts: 0 or more", span);
  }
  switch (spec.kind) {
    case "verticalSlash":
      return {
        kind: "verticalSlash", vertical: outputs[0] ?? "", slash: outputs[1] ?? "",
        lastQ: setting("last_q"), verticalSize: setting("vertical_size"), slashSize: setting("slash_size"),
        firstColumns: setting("first_columns"), nearDiagonals: setting("near_diagonals"),
      };
    case "blockTopK":
      return { kind: "blockTopK", blocks: outputs[0] ?? "", block: blockSize ?? blockTopKDefaults.block, topK: setting("top_k") };
    case "xattention": {
      const block = blockSize ?? xattentionDefaults.block, stride = setting("stride");
      if (stride < 1 || block % stride !== 0) refuse(`xattention's stride ${stride} does not divide the block size ${block}`, "choose a stride that divides the block, e.g. 8 or 16 for 128-wide blocks", span);
      return { kind: "xattention", blocks: outputs[0] ?? "", block, stride, threshold: setting("threshold") };
    }
  }
}

function refuse(message: string, hint: string, span: Span | undefined): never {
  throw new DiagnosticError([diagnostic("STP314", message, span === undefined ? { hint } : { span, hint })]);
}

/** The estimator a bound pattern names (its settings evaluated for these parameters and sizes), if any. */
export function estimatorOf(binding: Binding): Estimator | undefined {
  const decl = binding.pattern.estimator;
  if (decl === undefined) return undefined;
  const settings = new Map([...decl.settings].map(([name, setting]) => [name, setting.kind === "int" ? evalConstant(setting.value, binding.params, binding.sizes) : setting.value]));
  const blocks = binding.pattern.inputs.find((input) => input.ref.name === decl.outputs[0])?.ref.blockSize?.[0];
  return estimatorFrom(decl.name, decl.outputs, settings, blocks === undefined ? undefined : evalConstant(blocks, binding.params, binding.sizes), decl.span);
}
