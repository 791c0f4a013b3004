import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileCuda } from "../backends/cuda/compile.js";
import { emitCuda } from "../backends/cuda/emit.js";
import { cudaLowering } from "../backends/cuda/schedule.js";
import { openWebGpu } from "../backends/wgsl/device.js";
import { runAttention } from "../backends/wgsl/run.js";
import { lowerAttention } from "../passes/lower.js";
import { diskCache } from "../util/disk-cache.js";
import { writeNpy } from "../util/npy.js";
import { stippleVersion } from "../util/version.js";
import { runCli } from "./cli-runner.js";
import { dynamicExample } from "./dynamic-cases.js";
import { bindOrThrow, examplePattern, randomTensor } from "./helpers.js";

/** The disk compile cache (atomic, safe under concurrent processes, self-healing) and determinism across runs and processes. */
const scratch = (): string => mkdtempSync(join(tmpdir(), "stipple-cache-test-"));

function node(script: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }));
  });
}

describe("disk compile cache", () => {
  it("keeps entries across instances and heals a corrupt or truncated entry", () => {
    const dir = scratch();
    const cache = diskCache(dir);
    expect(cache.get("k")).toBeUndefined();
    cache.put("k", "payload ✓");
    expect(diskCache(dir).get("k")).toBe("payload ✓");
    const path = cache.pathOf("k");
    for (const damage of [(text: string) => text.replace("payload", "paYload"), (text: string) => text.slice(0, text.length - 3), () => "garbage"]) {
      cache.put("k", "payload ✓");
      writeFileSync(path, damage(readFileSync(path, "utf8")));
      expect(cache.get("k")).toBeUndefined();
      expect(() => readFileSync(path)).toThrow(/ENOENT/);
    }
    cache.put("k", "payload ✓");
    expect(cache.get("k")).toBe("payload ✓");
    expect(diskCache(undefined).get("k")).toBeUndefined(); // STIPPLE_CACHE=off
  });

  it("is safe under concurrent processes writing and reading one key", async () => {
    const dir = scratch();
    const script = `
      import { diskCache } from ${JSON.stringify(join(process.cwd(), "dist/util/disk-cache.js"))};
      const cache = diskCache(process.env.DIR);
      const payload = "x".repeat(1 << 20) + "end";
      let torn = 0;
      for (let round = 0; round < 40; round++) {
        cache.put("shared", payload);
        const got = cache.get("shared");
        // Writes are atomic renames of whole entries, so after a put every read finds a whole entry.
        if (got !== payload) torn++;
      }
      process.stdout.write(String(torn));`;
    const runs = await Promise.all(Array.from({ length: 6 }, () => node(script, { DIR: dir })));
    expect(runs.map((r) => [r.status, r.stdout, r.stderr])).toEqual(runs.map(() => [0, "0", ""]));
    expect(diskCache(dir).get("shared")?.endsWith("end")).toBe(true);
  }, 60_000);

  it("serves CUDA PTX compiled once to later compiles", () => {
    const cache = diskCache(scratch());
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 64, kvLen: 64 }, { sink: 4, window: 16 });
    const [launch] = lowerAttention(binding, 0, { headDim: 64, dtype: "f16", ...cudaLowering });
    if (launch === undefined) throw new Error("no launch");
    const source = emitCuda(launch.kernel);
    const first = compileCuda(source, "sm_80", cache);
    const second = compileCuda(source, "sm_80", cache);
    expect(first.compiler).not.toMatch(/disk cache/);
    expect(second.compiler).toMatch(/from the disk cache/);
    expect(second.ptx).toBe(first.ptx);
  }, 60_000);

  it("has the package's version in its keys", () => {
    expect(stippleVersion).toBe((JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version);
  });
});

describe("determinism", () => {
  it("the same inputs give byte-identical outputs across runs, static and dynamic, split or not", async () => {
    const gpu = await openWebGpu("auto");
    for (const binding of [bindOrThrow(examplePattern("grid"), { qLen: 90, kvLen: 130, heads: 2, kvHeads: 1 }, { stride: 8, window: 16 }),
      dynamicExample("vertical_slash", { qLen: 3, kvLen: 400, heads: 2, kvHeads: 1 }, 64, 9)]) {
      const { Q, K, H, KVH } = binding.sizes;
      const tensors = { q: randomTensor(H * Q * 32, 1), k: randomTensor(KVH * K * 32, 2), v: randomTensor(KVH * K * 32, 3) };
      const launches = lowerAttention(binding, 0, { headDim: 32, dtype: "f32", blockM: 32, blockN: 32 });
      const runs = await Promise.all([1, 1, 4, 4].map((splits) => runAttention(gpu, launches, tensors, binding.sizes, { splits })));
      const bytes = runs.map((r) => Buffer.from(r.out.buffer).toString("base64") + Buffer.from(r.lse.buffer).toString("base64"));
      expect(bytes[1]).toBe(bytes[0]);
      expect(bytes[3]).toBe(bytes[2]);
    }
  });

  it("two processes write byte-identical .npy outputs", async () => {
    const dir = scratch();
    const tensor = (shape: number[], seed: number) => writeNpy(shape, randomTensor(shape.reduce((a, b) => a * b, 1), seed));
    writeFileSync(join(dir, "q.npy"), tensor([2, 50, 32], 1));
    writeFileSync(join(dir, "k.npy"), tensor([1, 70, 32], 2));
    writeFileSync(join(dir, "v.npy"), tensor([1, 70, 32], 3));
    const run = (out: string) => runCli(["run", "examples/tri_shape.stip", "--param", "sink=4", "--param", "window=16", "--param", "last=5",
      "--q", join(dir, "q.npy"), "--k", join(dir, "k.npy"), "--v", join(dir, "v.npy"), "--out", join(dir, out)]);
    const results = await Promise.all([run("a.npy"), run("b.npy")]);
    expect(results.map((r) => r.status)).toEqual([0, 0]);
    expect(readFileSync(join(dir, "b.npy")).equals(readFileSync(join(dir, "a.npy")))).toBe(true);
  }, 60_000);
});
