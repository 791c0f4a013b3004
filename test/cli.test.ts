import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeNpy } from "../util/npy.js";
import { runCli } from "./cli-runner.js";

describe("stipple check", () => {
  it("passes on every example and reports static/dynamic and inputs", async () => {
    const { status, stdout, stderr } = await runCli(["check", ...["a_shape", "vertical_slash", "duo", "tri_shape"].map((n) => `examples/${n}.stip`)]);
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(stdout).toContain("pattern a_shape: static");
    expect(stdout).toContain("pattern vertical_slash: dynamic");
    expect(stdout).toContain("runtime input vertical: index[H]");
    expect(stdout).toContain("pattern duo: static");
    expect(stdout).toContain("sink = 128 in 0..");
  });

  it("prints JSON with --json", async () => {
    const { status, stdout } = await runCli(["check", "--json", "examples/block_sparse.stip"]);
    expect(status).toBe(0);
    const report = JSON.parse(stdout) as { patterns: { name: string; kind: string; inputs: { name: string }[] }[] }[];
    expect(report[0]?.patterns[0]).toMatchObject({ name: "block_sparse", kind: "dynamic", inputs: [{ name: "blocks" }] });
  });
});

describe("stipple mask", () => {
  it("prints only Q lines of K characters for txt", async () => {
    const { status, stdout } = await runCli(["mask", "examples/tri_shape.stip", "--param", "sink=1", "--param", "window=2", "--param", "last=1", "--q-len", "5", "--kv-len", "7"]);
    expect(status).toBe(0);
    // Rows sit at q = 2…6; the last row (q ≥ K − last) sees every earlier key.
    expect(stdout).toBe(["###....", "#.##...", "#..##..", "#...##.", "#######"].join("\n") + "\n");
  });

  it("reads runtime inputs from JSON files and selects head and layer", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stipple-"));
    writeFileSync(join(dir, "retrieval.json"), JSON.stringify([[0, 1], [1, 0]]));
    const args = ["mask", "examples/duo.stip", "--param", "sink=1", "--param", "window=1", "--q-len", "4", "--kv-len", "4",
      "--heads", "4", "--kv-heads", "2", "--layers", "2", "--input", `retrieval=${join(dir, "retrieval.json")}`];
    const streaming = await runCli([...args, "--head", "0", "--layer", "0"]);
    expect(streaming.stdout).toBe("#...\n##..\n#.#.\n#..#\n");
    const retrieval = await runCli([...args, "--head", "3", "--layer", "0"]);
    expect(retrieval.stdout).toBe("#...\n##..\n###.\n####\n");
  });

  it("writes json and png", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stipple-"));
    const json = await runCli(["mask", "examples/sliding_window.stip", "--param", "window=2", "--q-len", "3", "--kv-len", "3", "--format", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ pattern: "sliding_window", keptPairs: 5, mask: [[1, 0, 0], [1, 1, 0], [0, 1, 1]] });
    const png = join(dir, "mask.png");
    const drawn = await runCli(["mask", "examples/a_shape.stip", "--param", "sink=4", "--param", "window=64", "--q-len", "2000", "--kv-len", "3000", "--format", "png", "--out", png]);
    expect(drawn.status).toBe(0);
    expect(Array.from(readFileSync(png).subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it("exits 2 on a malformed command line, without a stack trace", async () => {
    const { status, stderr } = await runCli(["mask", "examples/a_shape.stip", "--frobnicate"]);
    expect(status).toBe(2);
    expect(stderr).toContain("unknown option");
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe("stipple emit and run", () => {
  it("emits the same WGSL twice, whatever the lengths", async () => {
    const first = await runCli(["emit", "examples/sliding_window.stip", "--target", "wgsl", "--head-dim", "64", "--param", "window=128"]);
    const second = await runCli(["emit", "examples/sliding_window.stip", "--target", "wgsl", "--head-dim", "64", "--param", "window=128", "--q-len", "4096", "--kv-len", "4096"]);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain("@compute @workgroup_size(64)");
    expect(second.stdout).toBe(first.stdout);
  });

  it("takes any head dim its backend's kernels take, and names the range when not", async () => {
    const cuda = await runCli(["emit", "examples/a_shape.stip", "--target", "cuda", "--head-dim", "80"]);
    expect(cuda.status).toBe(0);
    expect(cuda.stdout).toContain("head dim 80");
    const wide = await runCli(["emit", "examples/a_shape.stip", "--target", "cuda", "--head-dim", "256"]);
    expect(wide.stdout).toContain("extern __shared__");
    const refused = await runCli(["emit", "examples/a_shape.stip", "--target", "cuda", "--head-dim", "72"]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("STP902");
    expect(refused.stderr).toContain("multiples of 16 from 16 to 256");
    const wgsl = await runCli(["emit", "examples/a_shape.stip", "--target", "wgsl", "--head-dim", "6"]);
    expect(wgsl.stderr).toContain("multiples of 4 from 4 to 256");
    expect(wgsl.stderr).not.toMatch(/\n\s+at /);
  });

  it("runs a kernel on .npy tensors on the software adapter and passes --check", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stipple-"));
    const tensor = (shape: number[], seed: number): Uint8Array =>
      writeNpy(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 1.37 + seed)));
    writeFileSync(join(dir, "q.npy"), tensor([2, 50, 32], 1));
    writeFileSync(join(dir, "k.npy"), tensor([1, 70, 32], 2));
    writeFileSync(join(dir, "v.npy"), tensor([1, 70, 32], 3));
    const result = await runCli(["run", "examples/dilated.stip", "--param", "window=8", "--param", "dilation=3",
      "--q", join(dir, "q.npy"), "--k", join(dir, "k.npy"), "--v", join(dir, "v.npy"), "--out", join(dir, "o.npy"), "--lse", join(dir, "lse.npy"), "--check", "--json"]);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}") as { check: string; maxAbsError: number; adapter: string };
    expect(report.check).toBe("pass");
    expect(report.maxAbsError).toBeLessThan(1e-4);
    expect(readFileSync(join(dir, "o.npy")).length).toBeGreaterThan(2 * 50 * 32 * 4);

    // A dynamic pattern: its runtime inputs go to the device with the tensors.
    writeFileSync(join(dir, "vertical.json"), JSON.stringify([[0, 5, 9], [3]]));
    writeFileSync(join(dir, "slash.json"), JSON.stringify([[0, 1], [0, 7]]));
    const dynamic = await runCli(["run", "examples/vertical_slash.stip", "--input", `vertical=${join(dir, "vertical.json")}`, "--input", `slash=${join(dir, "slash.json")}`,
      "--q", join(dir, "q.npy"), "--k", join(dir, "k.npy"), "--v", join(dir, "v.npy"), "--out", join(dir, "o2.npy"), "--check", "--json"]);
    expect(dynamic.status).toBe(0);
    expect((JSON.parse(dynamic.stdout.trim().split("\n").at(-1) ?? "{}") as { check: string }).check).toBe("pass");

    // Tensors it cannot use are refused with their shapes or sizes, as input errors, before an adapter opens.
    writeFileSync(join(dir, "empty.npy"), tensor([2, 0, 32], 4));
    writeFileSync(join(dir, "cut.npy"), readFileSync(join(dir, "q.npy")).subarray(0, 200));
    for (const [query, message] of [["empty.npy", "error[STP902]: tensor shapes do not fit: q [2, 0, 32]"], ["cut.npy", "truncated: its header says shape (2, 50, 32) of <f4, 12800 bytes of data, but the file holds 72"]]) {
      const refused = await runCli(["run", "examples/a_shape.stip", "--q", join(dir, query ?? ""), "--k", join(dir, "k.npy"), "--v", join(dir, "v.npy"), "--out", join(dir, "o4.npy")]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(message);
    }

    // f16 storage: the tensors are rounded to f16 on the host and the check sees the same rounded values.
    const half = await runCli(["run", "examples/dilated.stip", "--param", "window=8", "--param", "dilation=3", "--dtype", "f16",
      "--q", join(dir, "q.npy"), "--k", join(dir, "k.npy"), "--v", join(dir, "v.npy"), "--out", join(dir, "o3.npy"), "--check", "--json"]);
    expect(half.status).toBe(0);
    expect(JSON.parse(half.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ check: "pass", dtype: "f16", backend: "wgsl" });
  });
});

describe("stipple run --estimate", () => {
  it("chooses the inputs on the device with the pattern's estimator (settings from its parameters), attends on them and passes --check", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stipple-"));
    const tensor = (shape: number[], seed: number): Uint8Array =>
      writeNpy(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 1.37 + seed)));
    writeFileSync(join(dir, "q.npy"), tensor([2, 60, 32], 1));
    writeFileSync(join(dir, "k.npy"), tensor([1, 90, 32], 2));
    writeFileSync(join(dir, "v.npy"), tensor([1, 90, 32], 3));
    writeFileSync(join(dir, "vs.stip"), `pattern vs(budget: int(1..) = 4, input vertical: index[H], input slash: index[H]) =
  causal & (k in vertical[h] | q - k in slash[h])
  estimate vertical_slash(vertical, slash, last_q = 16, vertical_size = budget, slash_size = 3, first_columns = 1, near_diagonals = 1)
`);
    const tensors = ["--q", join(dir, "q.npy"), "--k", join(dir, "k.npy"), "--v", join(dir, "v.npy"), "--out", join(dir, "o.npy")];
    const result = await runCli(["run", join(dir, "vs.stip"), "--param", "budget=5", ...tensors, "--estimate", "--save-estimate", join(dir, "chosen.json"), "--check", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout.trim()) as { check: string; density: number; estimator: string };
    expect(report.check).toBe("pass");
    expect(report.estimator).toContain("vertical_size 5");
    expect(report.density).toBeGreaterThan(0);
    expect(report.density).toBeLessThan(0.5);
    const chosen = JSON.parse(readFileSync(join(dir, "chosen.json"), "utf8")) as { vertical: number[][]; slash: number[][] };
    expect(chosen.vertical.map((columns) => columns.length)).toEqual([5, 5]);
    expect(chosen.slash.map((offsets) => offsets.length)).toEqual([3, 3]);
    expect(chosen.vertical.every((columns) => columns.includes(0)) && chosen.slash.every((offsets) => offsets.includes(0))).toBe(true);

    // The chosen inputs, given back with --input, reproduce the same output.
    writeFileSync(join(dir, "vertical.json"), JSON.stringify(chosen.vertical));
    writeFileSync(join(dir, "slash.json"), JSON.stringify(chosen.slash));
    const given = await runCli(["run", join(dir, "vs.stip"), "--input", `vertical=${join(dir, "vertical.json")}`, "--input", `slash=${join(dir, "slash.json")}`, ...tensors.slice(0, -1), join(dir, "o2.npy")]);
    expect(given.status).toBe(0);
    expect(readFileSync(join(dir, "o2.npy"))).toEqual(readFileSync(join(dir, "o.npy")));

    // Giving an input the estimator chooses, or estimating a pattern that names no estimator, is an error.
    const both = await runCli(["run", join(dir, "vs.stip"), "--input", `vertical=${join(dir, "vertical.json")}`, ...tensors, "--estimate"]);
    expect(both.status).toBe(1);
    expect(both.stderr).toContain("error[STP314]: runtime input `vertical`");
    const none = await runCli(["run", "examples/document.stip", ...tensors, "--estimate"]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/error\[STP314\]: pattern `document` names no estimator[^\n]*\n --> examples\/document\.stip:\d+:\d+/);
  });
});

describe("failures deep in the pipeline", () => {
  it("a missing WebGPU adapter is a coded diagnostic with a hint, exit 1, no stack trace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stipple-"));
    const tensor = writeNpy([1, 4, 32], new Float32Array(4 * 32));
    for (const name of ["q", "k", "v"]) writeFileSync(join(dir, `${name}.npy`), tensor);
    const result = await runCli(["run", "examples/a_shape.stip", "--adapter", "vulkan", "--q", join(dir, "q.npy"), "--k", join(dir, "k.npy"), "--v", join(dir, "v.npy"), "--out", join(dir, "o.npy")],
      { VK_ICD_FILENAMES: join(dir, "no-such-driver.json") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("error[STP903]: no WebGPU adapter found");
    expect(result.stderr).toContain("= hint: ");
    expect(result.stderr).not.toContain("internal error");
  });

  it("an index plan too large to build is refused with STP312 and a code frame", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stipple-"));
    writeFileSync(join(dir, "doc.json"), JSON.stringify(Array.from({ length: 70000 }, (_, k) => k >> 10)));
    const result = await runCli(["plan", "examples/document.stip", "--q-len", "70000", "--kv-len", "70000", "--input", `doc=${join(dir, "doc.json")}`]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/error\[STP312\][^\n]*\n --> examples\/document\.stip:\d+:\d+/);
  });
});

describe("stipple ir", () => {
  it("prints every stage, and --time names the passes", async () => {
    const expectations: Record<string, string> = {
      ast: "pattern tri_shape(",
      pattern: "k <= q & (k < sink | q - k < window)",
      simplified: "q >= K - 100",
      regions: "region 2: q - K + 100 >= 0, k <= q",
      plan: "PP",
      kernel: "segments: closed form from the tile index",
      wgsl: "@compute",
    };
    for (const [stage, expected] of Object.entries(expectations)) {
      const result = await runCli(["ir", "examples/tri_shape.stip", "--stage", stage, "--q-len", "200", "--kv-len", "200", "--time"]);
      expect(result.status, stage).toBe(0);
      expect(result.stdout, stage).toContain(expected);
    }
    const timed = await runCli(["ir", "examples/tri_shape.stip", "--stage", "wgsl", "--time"]);
    for (const pass of ["check", "specialize", "simplify", "regions", "lower", "emit"]) expect(timed.stderr).toContain(pass);
  });
});
