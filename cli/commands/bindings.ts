import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { generateBindings } from "../../compiler/bindings.js";
import { nodeHost } from "../../compiler/node-host.js";
import { compileProgram, programFailed } from "../../compiler/program.js";
import { CommandFailed, printDiagnostics, report } from "../io.js";

interface BindingsCommandOptions {
  readonly out: string;
  readonly importFrom: string;
  readonly json?: boolean;
}

/** `stipple bindings FILE… --out DIR`: a typed TypeScript module per pattern (compiler/bindings.ts). */
export function registerBindings(program: Command): void {
  program
    .command("bindings")
    .description("generate a typed TypeScript module per pattern: its parameters and runtime inputs as interfaces, and a compile/run that only accepts them")
    .argument("<files...>", ".stip files (bindings are made for the patterns each declares)")
    .addHelpText("after", "\nExample:\n  stipple bindings examples/*.stip --out src/patterns\n  then: import { compileAShape } from \"./patterns/a_shape.js\"; compileAShape({ params: { window: 1024 }, headDim: 64 }).run(gpu, { q, k, v }, { qLen, kvLen })")
    .requiredOption("--out <dir>", "folder to write NAME.ts into (created if missing)")
    .option("--import-from <specifier>", "where the generated modules import Stipple from", "stipple")
    .option("--json", "list the written files as JSON")
    .action((files: string[], options: BindingsCommandOptions) => {
      const compiled = compileProgram(files, nodeHost);
      if (programFailed(compiled)) throw new CommandFailed(compiled.diagnostics, compiled.sources);
      printDiagnostics(compiled.diagnostics, compiled.sources);
      mkdirSync(options.out, { recursive: true });
      // Each file on its own, so a module embeds only that file and what it imports.
      const written = files.flatMap((file) => generateBindings(compileProgram([file], nodeHost), file, { importFrom: options.importFrom }).map((binding) => {
        const path = join(options.out, binding.fileName);
        writeFileSync(path, binding.text);
        return { file, pattern: binding.pattern, path };
      }));
      if (options.json === true) process.stdout.write(`${JSON.stringify(written, null, 2)}\n`);
      else report(written.map((w) => `${w.path}  (pattern ${w.pattern} from ${w.file})`).join("\n") + "\n");
    });
}
