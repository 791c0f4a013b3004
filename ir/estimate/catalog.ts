import type { Binding } from "../pattern/binding.js";
import { evalConstant } from "../pattern/eval-int.js";
import type { Estimator } from "./estimator.js";
import { blockTopKDefaults, verticalSlashDefaults } from "./estimator.js";

/**
 * The estimators a `.stip` file can name in `estimate NAME(outputs…, setting = value, …)`: the kinds of the
 * inputs each writes (in order; each an input over [H]) and its settings with their defaults.
 */
export interface EstimatorSpec {
  readonly kind: Estimator["kind"];
  readonly outputs: readonly ("index" | "blocks")[];
  readonly settings: Readonly<Record<string, number>>;
}

export const estimatorCatalog: Readonly<Record<string, EstimatorSpec>> = {
  vertical_slash: {
    kind: "verticalSlash",
    outputs: ["index", "index"],
    settings: {
      last_q: verticalSlashDefaults.lastQ, vertical_size: verticalSlashDefaults.verticalSize, slash_size: verticalSlashDefaults.slashSize,
      first_columns: verticalSlashDefaults.firstColumns, near_diagonals: verticalSlashDefaults.nearDiagonals,
    },
  },
  block_top_k: { kind: "blockTopK", outputs: ["blocks"], settings: { top_k: blockTopKDefaults.topK } },
};

/** The estimator of a checked clause, its settings evaluated (missing ones take the defaults). */
export function estimatorFrom(name: string, outputs: readonly string[], settings: ReadonlyMap<string, number>, blockSize: number | undefined): Estimator {
  const spec = estimatorCatalog[name];
  if (spec === undefined) throw new Error(`unknown estimator ${name}`);
  const setting = (key: string): number => settings.get(key) ?? spec.settings[key] ?? 0;
  switch (spec.kind) {
    case "verticalSlash":
      return {
        kind: "verticalSlash", vertical: outputs[0] ?? "", slash: outputs[1] ?? "",
        lastQ: setting("last_q"), verticalSize: setting("vertical_size"), slashSize: setting("slash_size"),
        firstColumns: setting("first_columns"), nearDiagonals: setting("near_diagonals"),
      };
    case "blockTopK":
      return { kind: "blockTopK", blocks: outputs[0] ?? "", block: blockSize ?? blockTopKDefaults.block, topK: setting("top_k") };
  }
}

/** The estimator a bound pattern names (its settings evaluated for these parameters and sizes), if any. */
export function estimatorOf(binding: Binding): Estimator | undefined {
  const decl = binding.pattern.estimator;
  if (decl === undefined) return undefined;
  const settings = new Map([...decl.settings].map(([name, node]) => [name, evalConstant(node, binding.params, binding.sizes)]));
  const blocks = binding.pattern.inputs.find((input) => input.ref.name === decl.outputs[0])?.ref.blockSize?.[0];
  return estimatorFrom(decl.name, decl.outputs, settings, blocks === undefined ? undefined : evalConstant(blocks, binding.params, binding.sizes));
}
