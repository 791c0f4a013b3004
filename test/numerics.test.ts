import { beforeAll, describe, expect, it } from "vitest";
import { openWebGpu, type WebGpuContext } from "../backends/wgsl/device.js";
import { workgroupStorageBytes } from "../backends/wgsl/emit.js";
import { checkDeviceLimits, runAttention } from "../backends/wgsl/run.js";
import { bindPattern, keepsNothing } from "../compiler/bind.js";
import { memoryHost } from "../compiler/load.js";
import { compileProgram } from "../compiler/program.js";
import { DiagnosticError } from "../diagnostics/diagnostic.js";
import type { Dtype } from "../ir/kernel/kernel.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import type { Binding } from "../ir/pattern/binding.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../ir/reference/tolerance.js";
import { lowerAttention } from "../passes/lower.js";
import { roundedTo } from "../util/half.js";
import { dynamicExample } from "./dynamic-cases.js";
import { bindOrThrow, examplePattern, patternFromSource, randomTensor } from "./helpers.js";

/**
 * Numerics, as documented in the README's guarantees: large magnitudes, the edges of f16, rows that keep
 * no key or one key, and non-finite inputs (refused with their position, never spread into outputs).
 */
let gpu: WebGpuContext;
beforeAll(async () => {
  gpu = await openWebGpu("auto");
}, 60_000);

const D = 32;

async function runChecked(binding: Binding, q: Float32Array, k: Float32Array, v: Float32Array, dtype: Dtype = "f32") {
  const { Q, K, H, KVH } = binding.sizes;
  const result = await runAttention(gpu, lowerAttention(binding, 0, { headDim: D, dtype, blockM: 16, blockN: 16 }), { q, k, v }, binding.sizes);
  const seen = (x: Float32Array): Float32Array => (dtype === "f16" ? roundedTo(x, "f16") : x);
  const reference = denseAttention({
    q: { shape: [H, Q, D], data: seen(q) }, k: { shape: [KVH, K, D], data: seen(k) }, v: { shape: [KVH, K, D], data: seen(v) },
    maskOf: (head) => evaluateMask(binding, head, 0),
  });
  return { result, reference };
}

function refusal(run: () => unknown): Promise<string> {
  return Promise.resolve().then(run).then(
    () => "accepted",
    (error: unknown) => (error instanceof DiagnosticError ? error.diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n") : `uncoded: ${String(error)}`),
  );
}

describe("numerics", () => {
  it("inputs of magnitude 1e4 (f32) and up to 6e4 (f16) match the reference, with no NaN", async () => {
    for (const [dtype, magnitude] of [["f32", 1e4], ["f16", 6e4]] as const) {
      for (const binding of [bindOrThrow(examplePattern("a_shape"), { qLen: 70, kvLen: 90, heads: 2, kvHeads: 1 }, { sink: 4, window: 20 }),
        dynamicExample("block_sparse", { qLen: 70, kvLen: 90, heads: 2, kvHeads: 1 }, 16, 3)]) {
        const { Q, K, H, KVH } = binding.sizes;
        const { result, reference } = await runChecked(binding, randomTensor(H * Q * D, 1, magnitude), randomTensor(KVH * K * D, 2, magnitude), randomTensor(KVH * K * D, 3, magnitude), dtype);
        const { maxAbsError, scale } = compareOutputs(reference.out, result.out);
        expect(maxAbsError / scale, `${binding.pattern.name} ${dtype}`).toBeLessThanOrEqual(outputTolerance[dtype]);
        expect(result.out.some(Number.isNaN) || result.lse.some(Number.isNaN)).toBe(false);
      }
    }
  });

  it("a row that keeps no key gives 0 and lse −∞; a row that keeps one key gives that key's value", async () => {
    const pattern = patternFromSource("pattern edges() = causal & i >= 5 & (i >= 20 | k == q)\n", "edges");
    const binding = bindOrThrow(pattern, { qLen: 40, kvLen: 40 });
    const v = randomTensor(40 * D, 3);
    const { result, reference } = await runChecked(binding, randomTensor(40 * D, 1, 30), randomTensor(40 * D, 2, 30), v);
    for (let i = 0; i < 5; i++) {
      expect(Array.from(result.out.subarray(i * D, (i + 1) * D))).toEqual(new Array(D).fill(0));
      expect(result.lse[i]).toBe(-Infinity);
    }
    for (let i = 5; i < 20; i++) {
      for (let d = 0; d < D; d++) expect(result.out[i * D + d]).toBeCloseTo(v[i * D + d] ?? Number.NaN, 6);
      expect(Math.abs((result.lse[i] ?? 0) - (reference.lse[i] ?? 0))).toBeLessThan(1e-4 * Math.max(1, Math.abs(reference.lse[i] ?? 0)));
    }
  });

  it("a closed form with constants past 2^29 falls back to masked tiles, and still equals the reference", async () => {
    const binding = bindOrThrow(patternFromSource("pattern big() = causal & q - k < 600000000 & k >= q - 5\n", "big"), { qLen: 50, kvLen: 70 });
    const [launch] = lowerAttention(binding, 0, { headDim: D, dtype: "f32", blockM: 16, blockN: 16 });
    expect(launch?.kernel.segments.kind).toBe("allTiles");
    const { result, reference } = await runChecked(binding, randomTensor(50 * D, 1), randomTensor(70 * D, 2), randomTensor(70 * D, 3));
    const { maxAbsError, scale } = compareOutputs(reference.out, result.out);
    expect(maxAbsError / scale).toBeLessThanOrEqual(outputTolerance.f32);
  });

  it("refuses NaN, ±Inf and values beyond the tensor type's range, with their position, before uploading", async () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 8, kvLen: 8, heads: 2, kvHeads: 1 });
    const launches = (dtype: Dtype) => lowerAttention(binding, 0, { headDim: D, dtype, blockM: 16, blockN: 16 });
    const clean = () => ({ q: randomTensor(2 * 8 * D, 1), k: randomTensor(8 * D, 2), v: randomTensor(8 * D, 3) });
    const poisoned = (name: "q" | "k" | "v", at: number, value: number) => {
      const tensors = clean();
      tensors[name][at] = value;
      return tensors;
    };
    expect(await refusal(() => runAttention(gpu, launches("f32"), poisoned("k", 5 * D + 7, Number.NaN), binding.sizes))).toBe("STP316: k[0, 5, 7] is NaN");
    expect(await refusal(() => runAttention(gpu, launches("f32"), poisoned("q", 8 * D + 2, -Infinity), binding.sizes))).toBe("STP316: q[1, 0, 2] is -Infinity");
    expect(await refusal(() => runAttention(gpu, launches("f16"), poisoned("v", 3, 7e4), binding.sizes))).toMatch(/^STP316: v\[0, 0, 3\] is 70000, beyond the largest f16/);
    expect(await refusal(() => runAttention(gpu, launches("f16"), poisoned("v", 3, 65504), binding.sizes))).toBe("accepted");
  });

  it("refuses buffers larger than the device's limits before allocating anything", () => {
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 1024, kvLen: 4096, heads: 2, kvHeads: 1 });
    const tiny = { device: { limits: { maxStorageBufferBindingSize: 2 ** 20, maxBufferSize: 2 ** 30, maxComputeWorkgroupStorageSize: 16384 } } } as unknown as WebGpuContext;
    const launches = lowerAttention(binding, 0, { headDim: 64, dtype: "f32", blockM: 64, blockN: 32 });
    expect(() => checkDeviceLimits(tiny, launches, binding.sizes)).toThrow(/STP317: k needs 1\.0 MiB/);
    expect(() => checkDeviceLimits(gpu, launches, binding.sizes)).not.toThrow();
    // K and V tiles that fill the device's workgroup memory exactly; a gathering kernel's lists go past it.
    const staged = gpu.device.limits.maxComputeWorkgroupStorageSize;
    const dynamic = bindOrThrow(examplePattern("vertical_slash"), { qLen: 100, kvLen: 100 }, {}, { vertical: [[3, 50]], slash: [[0, 7]] });
    const wide = lowerAttention(dynamic, 0, { headDim: 128, dtype: "f32", blockM: 16, blockN: staged / (8 * 128) });
    const [kernel] = wide.map((launch) => launch.kernel);
    if (kernel === undefined) throw new Error("no launch");
    expect(kernel.gathers?.columns !== undefined && kernel.gathers.diagonals !== undefined, "both lines gathered").toBe(true);
    expect(workgroupStorageBytes(kernel)).toBeGreaterThan(staged);
    expect(() => checkDeviceLimits(gpu, wide, dynamic.sizes)).toThrow(new RegExp(`STP317: kernel vertical_slash_sparse stages ${workgroupStorageBytes(kernel)} bytes of workgroup memory`));
    const fits = lowerAttention(dynamic, 0, { headDim: 128, dtype: "f32", blockM: 16, blockN: staged / (16 * 128) });
    expect(() => checkDeviceLimits(gpu, fits, dynamic.sizes)).not.toThrow();
  });

  it("warns (STP401) when a pattern keeps nothing, at check time or for the bound parameters", () => {
    const program = compileProgram(["n.stip"], memoryHost({ "n.stip": "pattern nothing() = causal & k > q\npattern window(w: int(0..) = 4) = causal & q - k < w\n" }));
    expect(program.diagnostics.map((d) => [d.code, d.severity])).toEqual([["STP401", "warning"]]);
    const window = program.patterns.get("window");
    if (window === undefined) throw new Error("window did not check");
    const bound = bindPattern(window, { shape: { qLen: 8, kvLen: 8 }, params: new Map([["w", 0]]) });
    if (!bound.ok) throw new Error("window did not bind");
    expect(keepsNothing(bound.value).map((d) => d.code)).toEqual(["STP401"]);
    const fine = bindPattern(window, { shape: { qLen: 8, kvLen: 8 } });
    if (!fine.ok) throw new Error("window did not bind");
    expect(keepsNothing(fine.value)).toEqual([]);
  });
});
