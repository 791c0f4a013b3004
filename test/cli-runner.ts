import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

const cli = "dist/cli/main.js";

/** Runs the built CLI in a child process, as a user would, and collects its output and exit status. */
export function runCli(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
  });
}
