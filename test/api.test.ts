import { describe, expect, it } from "vitest";
import { openWebGpu } from "../backends/wgsl/device.js";
import { compile } from "../compiler/compile.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { DiagnosticError } from "../diagnostics/diagnostic.js";
import { lowerAttention } from "../passes/lower.js";
import { bindOrThrow, examplePattern } from "./helpers.js";

describe("compile(): the library entry point", () => {
  it("compiles text to a kernel with source, plan and run, checked against the reference", async () => {
    const source = "pattern band(width: int(1..) = 8) = causal & q - k < width";
    const compiled = compile(source, { params: { width: 12 }, headDim: 32 });
    if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join("\n"));
    const kernel = compiled.value;
    expect(kernel.source).toContain("@compute");
    const plan = kernel.plan({ qLen: 100, kvLen: 100 });
    expect(plan.ok && plan.value.static).toBe(true);
    const shape = { qLen: 40, kvLen: 60, heads: 2, kvHeads: 1 };
    const q = Float32Array.from({ length: 2 * 40 * 32 }, (_, i) => Math.sin(i));
    const k = Float32Array.from({ length: 60 * 32 }, (_, i) => Math.cos(i * 0.3));
    const v = Float32Array.from({ length: 60 * 32 }, (_, i) => Math.sin(i * 0.7));
    const result = await kernel.run(await openWebGpu(), { q, k, v }, shape);
    const binding = bindOrThrow(kernel.pattern, shape, { width: 12 });
    const reference = denseAttention({ q: { shape: [2, 40, 32], data: q }, k: { shape: [1, 60, 32], data: k }, v: { shape: [1, 60, 32], data: v }, maskOf: (h) => evaluateMask(binding, h, 0) });
    reference.out.forEach((x, at) => expect(Math.abs(x - (result.out[at] ?? Number.NaN))).toBeLessThan(1e-4));
  });

  it("runs estimate → build → attend in one call, returning the chosen inputs, and refuses to estimate a pattern with no estimator", async () => {
    const shape = { qLen: 80, kvLen: 100, heads: 2, kvHeads: 1 };
    const q = Float32Array.from({ length: 2 * 80 * 32 }, (_, i) => Math.sin(i * 0.9));
    const k = Float32Array.from({ length: 100 * 32 }, (_, i) => Math.cos(i * 0.3));
    const v = Float32Array.from({ length: 100 * 32 }, (_, i) => Math.sin(i * 0.7));
    const gpu = await openWebGpu();
    for (const example of ["block_sparse", "xattention"]) {
      const compiled = compile({ file: `examples/${example}.stip` }, { params: { block: 16 }, headDim: 32 });
      if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join("\n"));
      const result = await compiled.value.run(gpu, { q, k, v }, shape, { estimate: true });
      const blocks = result.inputs?.["blocks"] as number[][][];
      expect(blocks.length).toBe(2);
      expect(blocks[0]?.length).toBe(5);
      const binding = bindOrThrow(compiled.value.pattern, shape, { block: 16 }, result.inputs ?? {});
      const reference = denseAttention({ q: { shape: [2, 80, 32], data: q }, k: { shape: [1, 100, 32], data: k }, v: { shape: [1, 100, 32], data: v }, maskOf: (h) => evaluateMask(binding, h, 0) });
      reference.out.forEach((x, at) => expect(Math.abs(x - (result.out[at] ?? Number.NaN)), example).toBeLessThan(1e-4));
    }

    const document = compile({ file: "examples/document.stip" }, { headDim: 32 });
    if (!document.ok) throw new Error("document does not compile");
    await expect(document.value.run(gpu, { q, k, v }, shape, { estimate: true })).rejects.toMatchObject({ diagnostics: [{ code: "STP314" }] });
  });

  it("returns diagnostics, not exceptions, for a broken pattern", () => {
    const compiled = compile("pattern p = causal & q * k < 3", { headDim: 64 });
    expect(compiled.ok).toBe(false);
    expect(compiled.diagnostics.map((d) => d.code)).toEqual(["STP202"]);
  });

  it("compiles example files, dynamic ones included", () => {
    const compiled = compile({ file: "examples/block_sparse.stip" }, { headDim: 64 });
    expect(compiled.ok && compiled.value.source.includes("in_blocks(")).toBe(true);
  });

  it("compiles for CUDA with target: \"cuda\" (tensor-core source, 64 × 64 tiles) and refuses to run it on a WebGPU device", async () => {
    const compiled = compile("pattern band(width: int(1..) = 8) = causal & q - k < width", { params: { width: 128 }, headDim: 128, target: "cuda", dtype: "bf16" });
    if (!compiled.ok) throw new Error("did not compile");
    expect(compiled.value.source).toContain("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32");
    expect(compiled.value.schedule).toEqual({ blockM: 64, blockN: 64 });
    const shape = { qLen: 8, kvLen: 8 };
    const tensors = { q: new Float32Array(8 * 128), k: new Float32Array(8 * 128), v: new Float32Array(8 * 128) };
    await expect(compiled.value.run(await openWebGpu(), tensors, shape)).rejects.toThrow("compiled for cuda, but run on a webgpu device");
  });

  it("returns what a target cannot do as diagnostics, not exceptions", () => {
    const codes = (compiled: ReturnType<typeof compile>): string[] => (compiled.ok ? [] : compiled.diagnostics.map((d) => d.code));
    // Dynamic patterns compile for CUDA too (with their tile-index builder); any multiple of 16 up to 256.
    expect(codes(compile({ file: "examples/vertical_slash.stip" }, { headDim: 64, target: "cuda" }))).toEqual([]);
    expect(codes(compile("pattern p = causal", { headDim: 80, target: "cuda" }))).toEqual([]);
    expect(codes(compile("pattern p = causal", { headDim: 72, target: "cuda" }))).toEqual(["STP501"]);
    expect(codes(compile("pattern p = causal", { headDim: 224, target: "cuda" }))).toEqual([]);
    expect(codes(compile("pattern p = causal", { headDim: 256, target: "cuda" }))).toEqual([]);
    expect(codes(compile("pattern p = causal", { headDim: 272, target: "cuda" }))).toEqual(["STP501"]);
    // WGSL takes any multiple of 4 up to 256; nothing else, and never a head dim of 0.
    expect(codes(compile("pattern p = causal", { headDim: 192 }))).toEqual([]);
    expect(codes(compile("pattern p = causal", { headDim: 6 }))).toEqual(["STP902"]);
    expect(codes(compile("pattern p = causal", { headDim: 0 }))).toEqual(["STP902"]);
    expect(codes(compile("pattern p = causal", { headDim: 64, dtype: "bf16" }))).toEqual(["STP902"]);
  });

  it("lowerAttention (exported) refuses a head dim or tile size that is not a positive integer with a coded error", () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 4, kvLen: 4 });
    const code = (options: { headDim: number; blockM: number; blockN: number }): string => {
      try {
        lowerAttention(binding, 0, { ...options, dtype: "f32" });
        return "accepted";
      } catch (error) {
        return error instanceof DiagnosticError ? error.diagnostics.map((d) => `${d.code} ${d.message}`).join() : `uncoded: ${String(error)}`;
      }
    };
    expect(code({ headDim: 0, blockM: 16, blockN: 16 })).toBe("STP902 headDim must be a positive integer, not 0");
    expect(code({ headDim: 64, blockM: 12.5, blockN: 16 })).toBe("STP902 blockM must be a positive integer, not 12.5");
    expect(code({ headDim: 64, blockM: 16, blockN: -1 })).toBe("STP902 blockN must be a positive integer, not -1");
    expect(code({ headDim: 64, blockM: 16, blockN: 16 })).toBe("accepted");
  });
});
