import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "./cli-runner.js";

/**
 * Golden diagnostics: each `test/errors/NAME.stip` is run through the built CLI (`check FILE`, or the
 * command line in `NAME.args` with $FILE standing for the file) and its stderr and exit code must match
 * `NAME.expected` byte for byte. UPDATE_GOLDEN=1 rewrites the expected files (review the diff).
 */
const folder = "test/errors";

const cases = readdirSync(folder).filter((f) => f.endsWith(".stip")).map((f) => f.slice(0, -5)).sort();

describe("golden diagnostics", () => {
  it("has at least 15 distinct mistakes with distinct codes", () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
    const codes = new Set(cases.flatMap((name) => [...readExpected(name).matchAll(/error\[(STP\d+)\]/g)].map((m) => m[1])));
    expect(codes.size).toBeGreaterThanOrEqual(15);
  });

  for (const name of cases) {
    it.concurrent(name, async () => {
      const file = `${folder}/${name}.stip`;
      const argsFile = `${folder}/${name}.args`;
      const args = existsSync(argsFile)
        ? readFileSync(argsFile, "utf8").trim().split(/\s+/).map((a) => (a === "$FILE" ? file : a))
        : ["check", file];
      const { status, stderr } = await runCli(args);
      const actual = `${stderr}exit: ${status}\n`;
      if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(`${folder}/${name}.expected`, actual);
      expect(status).toBe(1);
      expect(stderr).toMatch(/^error\[STP\d{3}\]: /);
      expect(stderr).toMatch(/ --> test\/errors\/.*:\d+:\d+/);
      expect(stderr).toContain("= hint: ");
      expect(stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
      expect(actual).toBe(readExpected(name));
    });
  }
});

function readExpected(name: string): string {
  const path = `${folder}/${name}.expected`;
  return existsSync(path) ? readFileSync(path, "utf8") : "(no expected file)";
}
