import { beforeAll, describe, expect, it } from "vitest";
import { openWebGpu, type WebGpuContext } from "../backends/wgsl/device.js";
import { workgroupStorageBytes } from "../backends/wgsl/emit.js";
import { checkDeviceLimits, runAttention } from "../backends/wgsl/run.js";
import { bindPattern, keepsNothing } from "../compiler/bind.js";
import { memoryHost } from "../compiler/load.js";
import { compile } from "../compiler/compile.js";
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

  it("refuses finite inputs whose f32 sums could overflow (scores, the output's accumulator), and runs those just inside", async () => {
    // a_shape's defaults keep every causal pair at 8 tokens. Row 6 of head 1 meets key 5: their dot
    // product is the bound itself, 2^126 inside (the kernel's scores stay finite) and 2^128 past 2^127.
    const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 8, kvLen: 8, heads: 2, kvHeads: 1 });
    const spiked = (qk: number, v: number) => {
      const tensors = { q: randomTensor(2 * 8 * D, 1), k: randomTensor(8 * D, 2), v: randomTensor(8 * D, 3) };
      tensors.q.fill(0, (8 + 6) * D, (8 + 7) * D);
      tensors.k.fill(0, 5 * D, 6 * D);
      tensors.q[(8 + 6) * D] = qk;
      tensors.k[5 * D] = qk;
      tensors.v[2 * D + 1] = v;
      return tensors;
    };
    const run = (tensors: { q: Float32Array; k: Float32Array; v: Float32Array }) => runAttention(gpu, lowerAttention(binding, 0, { headDim: D, dtype: "f32", blockM: 16, blockN: 16 }), tensors, binding.sizes);
    expect(await refusal(() => run(spiked(2 ** 64, 1)))).toBe("STP316: q·k can overflow f32: ‖q[1, 6]‖ · ‖k[0, 5]‖ = 3.40e+38, past 2^127");
    // v: 8 keys of 2^124 reach 2^127; of 2^123, 2^126.
    expect(await refusal(() => run(spiked(1, 2 ** 124)))).toBe("STP316: the output's f32 accumulator can overflow: |v[0, 2, 1]| = 2.13e+37, added over up to K = 8 keys, reaches 1.70e+38, past 2^127");
    for (const inside of [spiked(2 ** 63, 1), spiked(1, 2 ** 123)]) {
      const result = await run(inside);
      expect(result.out.every(Number.isFinite) && result.lse.every((x) => Number.isFinite(x))).toBe(true);
      const { maxAbsError, scale } = compareOutputs(denseAttention({
        q: { shape: [2, 8, D], data: inside.q }, k: { shape: [1, 8, D], data: inside.k }, v: { shape: [1, 8, D], data: inside.v }, maskOf: (head) => evaluateMask(binding, head, 0),
      }).out, result.out);
      expect(maxAbsError / scale).toBeLessThanOrEqual(outputTolerance.f32);
    }
    // XAttention's scores add stride (8) products: 2^62 · 2^62 passes for attention, not for its estimator.
    const xattention = compile({ file: "examples/xattention.stip" }, { params: { block: 16 }, headDim: D });
    if (!xattention.ok) throw new Error("xattention does not compile");
    const shape = { qLen: 8, kvLen: 8, heads: 2, kvHeads: 1 };
    expect(await refusal(() => xattention.value.run(gpu, spiked(2 ** 62, 1), shape, { estimate: true }))).toBe("STP316: q·k can overflow f32: ‖q[1, 6]‖ · ‖k[0, 5]‖ × 8 terms = 1.70e+38, past 2^127");
    expect(await refusal(() => xattention.value.run(gpu, spiked(2 ** 62, 1), { ...shape, inputs: { blocks: [[[1]], [[1]]] } }))).toBe("accepted");
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
