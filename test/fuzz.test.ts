import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openWebGpu } from "../backends/wgsl/device.js";
import { diagnostic } from "../diagnostics/diagnostic.js";
import { loadExamples } from "../fuzz/examples.js";
import { fuzzCase, fuzzCases } from "../fuzz/generate.js";
import { checkCase, checkDiagnostics, type Verdict } from "../fuzz/oracle.js";
import { readReproducer } from "../fuzz/reproducer.js";

/**
 * The fuzzer's share in CI: every saved reproducer, a fixed slice of the case stream through the whole
 * oracle (and a few on the software adapter), and the runner's watchdog. The long run is
 * `npm run fuzz -- --cases 100000`.
 */
const examples = loadExamples();
const cases = fuzzCases(examples);

function failures(verdicts: readonly (readonly [number, Verdict])[]): string[] {
  return verdicts.flatMap(([n, v]) => (v.kind === "failed" ? [`case ${n} [${v.stage}] ${v.message}`] : []));
}

describe("fuzzing", () => {
  it("every reproducer in fuzz/regressions passes", async () => {
    const files = readdirSync("fuzz/regressions").filter((name) => name.endsWith(".stip"));
    expect(files.length).toBeGreaterThan(0);
    const device = await openWebGpu("auto", { robust: false });
    for (const file of files) {
      const reproducer = readReproducer(readFileSync(`fuzz/regressions/${file}`, "utf8"));
      const verdict = await checkCase(reproducer, examples, reproducer.stage === "device" ? { device } : {});
      expect(verdict.kind, `${file}: ${JSON.stringify(verdict)}`).not.toBe("failed");
    }
  });

  it("a fixed slice of the case stream passes the oracle, with a real mix of rejected and accepted sources", async () => {
    const verdicts: [number, Verdict][] = [];
    for (let n = 0; n < 1500; n++) verdicts.push([n, await checkCase(fuzzCase(cases, 20261201, n), examples)]);
    expect(failures(verdicts)).toEqual([]);
    const share = (kind: Verdict["kind"]): number => verdicts.filter(([, v]) => v.kind === kind).length / verdicts.length;
    expect(share("rejected")).toBeGreaterThan(0.2);
    expect(share("accepted")).toBeGreaterThan(0.3);
    const bound = verdicts.reduce((n, [, v]) => n + (v.kind === "accepted" ? v.bound : 0), 0);
    expect(bound).toBeGreaterThan(300);
  }, 120_000);

  it("accepted cases agree with the dense reference on the software adapter", async () => {
    const device = await openWebGpu("auto", { robust: false });
    const verdicts: [number, Verdict][] = [];
    let runs = 0;
    for (let n = 0; runs < 12; n++) {
      const verdict = await checkCase(fuzzCase(cases, 77, n), examples, { device });
      if (verdict.kind === "accepted") runs += verdict.deviceRuns;
      verdicts.push([n, verdict]);
    }
    expect(failures(verdicts)).toEqual([]);
  }, 120_000);

  it("the oracle rejects a diagnostic whose span lies outside its file", () => {
    const sources = new Map([["a.stip", { path: "a.stip", text: "pattern a = causal\n", lineStarts: [0] }]]);
    const outside = diagnostic("STP002", "syntax error", { span: { file: "a.stip", start: 5, end: 99 } });
    expect(() => checkDiagnostics([outside], sources)).toThrow(/outside/);
    const unprinted = diagnostic("STP101", "unknown name `undefined`");
    expect(() => checkDiagnostics([unprinted], sources)).toThrow(/unprinted/);
  });

  it("the runner kills a hanging case, reports it and carries on", async () => {
    const run = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, ["dist/fuzz/main.js", "--cases", "30", "--jobs", "1", "--seed", "3", "--device-every", "0", "--case-limit-ms", "400", "--no-save", "--json", "--quiet"],
        { encoding: "utf8", env: { ...process.env, STIPPLE_FUZZ_TEST_HANG: "5" } },
        (error, stdout) => resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout }));
    });
    expect(run.status).toBe(1);
    const summary = JSON.parse(run.stdout) as { cases: number; failures: { n: number; stage: string }[] };
    expect(summary.cases).toBe(30);
    expect(summary.failures.map((f) => [f.n, f.stage])).toEqual([[5, "hang"]]);
  }, 60_000);
});
