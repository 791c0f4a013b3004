import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { openWebGpu } from "../backends/wgsl/device.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs } from "../ir/reference/tolerance.js";
import { runCli } from "./cli-runner.js";
import { bindOrThrow, examplePattern, randomTensor } from "./helpers.js";

/**
 * `stipple bindings`: the generated modules type-check under the project's strict options, a program that
 * misuses them does not (with the errors a kernel author should see), and a generated module runs its
 * kernel on the software adapter, equal to the reference.
 */
const dir = mkdtempSync(join(process.cwd(), "node_modules", ".stipple-bindings-"));
const indexPath = join(process.cwd(), "index.js");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function generate(): Promise<void> {
  const result = await runCli(["bindings", "examples/a_shape.stip", "examples/vertical_slash.stip", "examples/duo.stip", "examples/ladder.stip", "--out", dir, "--import-from", indexPath, "--json"]);
  expect(result.status, result.stderr).toBe(0);
  const written = JSON.parse(result.stdout) as { pattern: string; path: string }[];
  expect(written.map((w) => w.pattern)).toEqual(["a_shape", "vertical_slash", "duo", "ladder"]);
}

/** Type errors of `files` under tsconfig.json's options, as "file:line: TSxxxx message". */
function typeErrors(files: readonly string[]): string[] {
  const config = ts.readConfigFile("tsconfig.json", ts.sys.readFile);
  const options = ts.parseJsonConfigFileContent(config.config, ts.sys, process.cwd()).options;
  const program = ts.createProgram(files, { ...options, noEmit: true });
  return ts.getPreEmitDiagnostics(program).filter((d) => d.file !== undefined && files.includes(d.file.fileName)).map((d) => {
    const { line } = d.file?.getLineAndCharacterOfPosition(d.start ?? 0) ?? { line: 0 };
    return `${d.file?.fileName.split("/").pop() ?? ""}:${line + 1}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
  });
}

describe("stipple bindings", () => {
  it("generates modules that type-check strictly, and refuse misuse at compile time", async () => {
    await generate();
    const good = join(dir, "good.ts");
    writeFileSync(good, `
import { compileAShape } from "./a_shape.js";
import { compileVerticalSlash } from "./vertical_slash.js";
import { compileDuo } from "./duo.js";
import { openWebGpu } from ${JSON.stringify(indexPath)};
const gpu = await openWebGpu();
const t = { q: new Float32Array(64), k: new Float32Array(64), v: new Float32Array(64) };
await compileAShape({ params: { sink: 4, window: 16 }, headDim: 64 }).run(gpu, t, { qLen: 1, kvLen: 1 });
await compileVerticalSlash({ headDim: 32 }).run(gpu, t, { qLen: 2, kvLen: 2, inputs: { vertical: [[0]], slash: [[0]] } });
const chosen = await compileVerticalSlash({ headDim: 32, dtype: "f16" }).runEstimated(gpu, t, { qLen: 2, kvLen: 2 });
const columns: readonly (readonly number[])[] = chosen.inputs.vertical;
await compileDuo({ headDim: 80 }).run(gpu, t, { qLen: 1, kvLen: 1, inputs: { retrieval: [[1]] } });
void columns;
`);
    expect(typeErrors([good])).toEqual([]);
    const misuse = join(dir, "misuse.ts");
    writeFileSync(misuse, `
import { compileAShape } from "./a_shape.js";
import { compileVerticalSlash } from "./vertical_slash.js";
import { compileLadder } from "./ladder.js";
import { openWebGpu } from ${JSON.stringify(indexPath)};
const gpu = await openWebGpu();
const t = { q: new Float32Array(64), k: new Float32Array(64), v: new Float32Array(64) };
compileAShape({ params: { sinks: 4 }, headDim: 64 });
compileAShape({ headDim: 98 });
await compileVerticalSlash({ headDim: 32 }).run(gpu, t, { qLen: 2, kvLen: 2 });
await compileVerticalSlash({ headDim: 32 }).runEstimated(gpu, t, { qLen: 2, kvLen: 2, inputs: { vertical: [[0]] } });
compileVerticalSlash({ params: { window: 3 }, headDim: 32 });
compileLadder({ params: { group: "5" }, headDim: 64 });
`);
    const errors = typeErrors([misuse]);
    const lines = errors.map((e) => Number(/:(\d+):/.exec(e)?.[1]));
    expect(lines, errors.join("\n")).toEqual([8, 9, 10, 11, 12, 13]);
    expect(errors[0]).toMatch(/'sinks' does not exist/);
    expect(errors[1]).toMatch(/'98' is not assignable to type 'HeadDim'/);
    expect(errors[2]).toMatch(/'inputs' is missing/);
  }, 120_000);

  it("a generated module runs its kernel on the software adapter, equal to the reference", async () => {
    mkdirSync(dir, { recursive: true });
    await generate();
    // The generated file lives outside the test's program: describe the part of its type the test uses.
    const module = (await import(join(dir, "a_shape.ts"))) as {
      compileAShape(options: { params?: { sink?: number; window?: number }; headDim: 32 | 64 | 128 }): {
        run(device: unknown, tensors: { q: Float32Array; k: Float32Array; v: Float32Array }, shape: { qLen: number; kvLen: number; heads?: number; kvHeads?: number }): Promise<{ out: Float32Array }>;
      };
    };
    const gpu = await openWebGpu();
    const [Q, K, H] = [40, 60, 2];
    const D = 32;
    const tensors = { q: randomTensor(H * Q * D, 1), k: randomTensor(K * D, 2), v: randomTensor(K * D, 3) };
    const compiled = module.compileAShape({ params: { sink: 3, window: 9 }, headDim: D });
    const { out } = await compiled.run(gpu, tensors, { qLen: Q, kvLen: K, heads: H, kvHeads: 1 });
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: Q, kvLen: K, heads: H, kvHeads: 1 }, { sink: 3, window: 9 });
    const reference = denseAttention({ q: { shape: [H, Q, D], data: tensors.q }, k: { shape: [1, K, D], data: tensors.k }, v: { shape: [1, K, D], data: tensors.v }, maskOf: (h) => evaluateMask(binding, h, 0) });
    const { maxAbsError, scale } = compareOutputs(reference.out, out);
    expect(maxAbsError / scale).toBeLessThanOrEqual(1e-4);
    expect(() => module.compileAShape({ params: { sink: -1 }, headDim: D })).toThrow(/STP303/);
  }, 120_000);
});
