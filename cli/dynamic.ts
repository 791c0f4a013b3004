import { diagnostic } from "../diagnostics/diagnostic.js";
import { dynamismOf, type PatternDef } from "../ir/pattern/pattern.js";
import { CommandFailed } from "./io.js";

/**
 * Kernels for dynamic patterns (runtime index lists, block sets, ids) need the device index builders and
 * input buffers that are not built yet; say so plainly instead of emitting a kernel that cannot run.
 */
export function refuseDynamic(pattern: PatternDef): void {
  if (dynamismOf(pattern) !== "dynamic") return;
  const inputs = pattern.inputs.filter((i) => i.ref.kind !== "bool").map((i) => i.ref.name);
  throw new CommandFailed([diagnostic("STP902", `pattern \`${pattern.name}\` reads runtime inputs (${inputs.join(", ")}): its kernels are not available yet`, {
    span: pattern.span,
    hint: "static patterns (and bool tables) run today; `stipple plan` and `stipple mask` handle dynamic ones",
  })]);
}
