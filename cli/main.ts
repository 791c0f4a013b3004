#!/usr/bin/env node
import { stippleVersion } from "../util/version.js";
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { registerCheck } from "./commands/check.js";
import { registerMask } from "./commands/mask.js";
import { registerPlan } from "./commands/plan.js";
import { registerEmit } from "./commands/emit.js";
import { registerRun } from "./commands/run.js";
import { registerBench } from "./commands/bench.js";
import { registerIr } from "./commands/ir.js";
import { registerBindings } from "./commands/bindings.js";
import { DiagnosticError, type Diagnostic } from "../diagnostics/diagnostic.js";
import { sourceFile, type SourceFile } from "../diagnostics/source.js";
import { CommandFailed, output, printDiagnostics } from "./io.js";

/**
 * Exit codes: 0 success; 1 the input has errors (diagnostics on stderr); 2 the command line is malformed;
 * 3 an internal error (a bug in Stipple: please report it with the command).
 */
async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name("stipple")
    .description("Stipple compiles sparse attention patterns (.stip files) into verified attention kernels.")
    .version(stippleVersion)
    .option("-q, --quiet", "print only what a command produces and its errors: no warnings, no progress, no report lines")
    .hook("preAction", (_program, command) => {
      output.quiet = command.optsWithGlobals<{ quiet?: boolean }>().quiet === true;
    })
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .addHelpText("after", `
Exit codes: 0 success; 1 the input has errors (coded diagnostics on stderr, or a failed --check);
2 malformed command line; 3 internal error (a bug in Stipple: please report the command).
Every command that reports numbers takes --json (check, plan, run, bench, bindings; mask --format json).

Start with: stipple check examples/a_shape.stip
            stipple mask examples/a_shape.stip --param sink=2 --param window=4 --q-len 16 --kv-len 16
            stipple plan examples/a_shape.stip --q-len 65536 --kv-len 65536`);
  registerCheck(program);
  registerMask(program);
  registerPlan(program);
  registerEmit(program);
  registerRun(program);
  registerBench(program);
  registerIr(program);
  registerBindings(program);
  try {
    await program.parseAsync(argv as string[], { from: "node" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommandFailed) {
      printDiagnostics(error.diagnostics, error.sources);
      return 1;
    }
    // Deep stages (planning, the device) report user-facing problems as DiagnosticError.
    if (error instanceof DiagnosticError) {
      printDiagnostics(error.diagnostics, sourcesOf(error.diagnostics));
      return 1;
    }
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`internal error: ${message}\nThis is a bug in Stipple; please report it with the command you ran.\n`);
    if (process.env["STIPPLE_DEBUG"] !== undefined && error instanceof Error) process.stderr.write(`${error.stack ?? ""}\n`);
    return 3;
  }
}

/** Re-reads the files diagnostics point into, for their code frames. */
function sourcesOf(diagnostics: readonly Diagnostic[]): Map<string, SourceFile> {
  const sources = new Map<string, SourceFile>();
  for (const d of diagnostics) {
    const path = d.span?.file;
    if (path === undefined || sources.has(path)) continue;
    try {
      sources.set(path, sourceFile(path, readFileSync(path, "utf8")));
    } catch {
      // no frame for a file that cannot be read; the message and location remain
    }
  }
  return sources;
}

// Exit explicitly: Dawn's device keeps the event loop alive after a run.
main(process.argv).then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`internal error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(3);
});
