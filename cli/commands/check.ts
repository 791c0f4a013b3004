import type { Command } from "commander";
import { shapeText } from "../../compiler/bind-inputs.js";
import { nodeHost } from "../../compiler/node-host.js";
import { compileProgram, programFailed } from "../../compiler/program.js";
import { dynamismOf, type PatternDef } from "../../ir/pattern/pattern.js";
import { printEstimatorDecl, printInputRef } from "../../ir/pattern/print.js";
import { CommandFailed, printDiagnostics } from "../io.js";

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("check pattern files: report errors, and for each pattern its parameters, runtime inputs and whether it is static or dynamic")
    .argument("<files...>", ".stip files")
    .option("--json", "print the report as JSON")
    .action((files: string[], options: { json?: boolean }) => {
      const compiled = compileProgram(files, nodeHost);
      const report = files.map((file) => ({
        file,
        patterns: (compiled.declaredIn.get(file) ?? []).flatMap((name) => {
          const def = compiled.patterns.get(name);
          return def === undefined ? [] : [describe(def)];
        }),
      }));
      if (options.json === true) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
      else process.stdout.write(report.map(textReport).join("\n"));
      if (programFailed(compiled)) throw new CommandFailed(compiled.diagnostics, compiled.sources);
      printDiagnostics(compiled.diagnostics, compiled.sources);
    });
}

function describe(def: PatternDef) {
  return {
    name: def.name,
    kind: dynamismOf(def),
    params: def.params.map((p) => ({ name: p.name, default: p.default ?? null, min: p.min ?? null, max: p.max ?? null })),
    inputs: def.inputs.map((i) => ({ name: i.ref.name, type: printInputRef(i.ref), shape: shapeText(i.ref) })),
    estimator: def.estimator === undefined ? null : printEstimatorDecl(def.estimator),
  };
}

function textReport(entry: { file: string; patterns: ReturnType<typeof describe>[] }): string {
  const lines = [`${entry.file}`];
  for (const p of entry.patterns) {
    const tables = p.inputs.length > 0 && p.kind === "static" ? " (its tables choose a closed form per head and layer at launch)" : "";
    lines.push(`  pattern ${p.name}: ${p.kind}${tables}`);
    const params = p.params.map((x) => {
      const range = x.min === null && x.max === null ? "" : ` in ${x.min ?? ""}..${x.max ?? ""}`;
      return `${x.name}${x.default === null ? " (required)" : ` = ${x.default}`}${range}`;
    });
    lines.push(`    parameters: ${params.length === 0 ? "none" : params.join(", ")}`);
    if (p.inputs.length === 0) lines.push("    runtime inputs: none");
    else for (const i of p.inputs) lines.push(`    runtime input ${i.name}: ${i.type} — ${i.shape}`);
    if (p.estimator !== null) lines.push(`    ${p.estimator} (run --estimate chooses the inputs on the device)`);
  }
  return lines.join("\n") + "\n";
}
