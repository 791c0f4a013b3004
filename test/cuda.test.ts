import { headDimsOf } from "../backends/head-dims.js";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileToPtx, ptxasReport } from "../backends/cuda/compile.js";
import { emitCuda } from "../backends/cuda/emit.js";
import { blockTopKKernels, emitBlockTopKCuda } from "../backends/cuda/estimate.js";
import { emitVerticalSlashCuda, verticalSlashKernels } from "../backends/cuda/estimate-vertical-slash.js";
import { emitXAttentionMassCuda, emitXAttentionSelectCuda, xattentionMassKernels, xattentionSelectKernels } from "../backends/cuda/estimate-xattention.js";
import { emitXAttentionTensorMassCuda } from "../backends/cuda/estimate-xattention-tensor.js";
import { maxStagedQuery } from "../backends/estimated-input.js";
import { emitSplitCombineCuda } from "../backends/cuda/split-combine.js";
import { emitTileBuilderCuda } from "../backends/cuda/tile-builder.js";
import { cudaCapabilities, cudaLowering, cudaMaxRegisterQ, type CudaArch } from "../backends/cuda/schedule.js";
import { DiagnosticError } from "../diagnostics/diagnostic.js";
import type { Dtype } from "../ir/kernel/kernel.js";
import { lowerAttention, type KernelVariant } from "../passes/lower.js";
import { bindOrThrow, examplePattern } from "./helpers.js";
import { dynamicExampleNames } from "./dynamic-cases.js";
import { goldenExamples, goldenInputs } from "./golden-examples.js";

/**
 * The CUDA backend without a GPU: every example's kernel (and a dynamic one's tile-index builder), for each
 * element type and head dim, compiles with nvcc for sm_80 and sm_90, and ptxas reports no spills; golden .cu
 * files. These need nvcc and ptxas (this machine and CI have CUDA 13) and fail, never skip, without them.
 * The builders' logic runs on the host in cuda-builder.test.ts; execution against the dense reference is
 * `npm run test:gpu`.
 */

/** The programs of an example: each launch's kernel, then (dynamic sparse kernels) its builder. */
function cudaKernels(name: string, headDim: number, dtype: Dtype, variant: KernelVariant = "sparse"): { heads: readonly number[]; source: string; builder: boolean }[] {
  const binding = bindOrThrow(examplePattern(name), { qLen: 1, kvLen: 1, heads: 2, kvHeads: 2 }, {}, goldenInputs[name] ?? {});
  return lowerAttention(binding, 0, { headDim, dtype, ...cudaLowering, variant }).flatMap((l) => [
    { heads: l.heads, source: emitCuda(l.kernel), builder: false },
    ...(l.kernel.segments.kind === "tileIndex" ? [{ heads: l.heads, source: emitTileBuilderCuda(l.kernel), builder: true }] : []),
  ]);
}

describe("golden CUDA", () => {
  for (const name of goldenExamples) {
    it(name, () => {
      const text = cudaKernels(name, 64, "f16").map((k) => `// heads ${k.heads.join(", ")}\n${k.source}`).join("\n");
      const path = `test/golden/cuda/${name}.cu`;
      if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(path, text);
      expect(existsSync(path), `${path} is missing: run with UPDATE_GOLDEN=1 once and review it`).toBe(true);
      expect(text).toBe(readFileSync(path, "utf8"));
    });
  }
});

describe("CUDA kernels compile for sm_80 and sm_90 without spills", () => {
  const archs: readonly CudaArch[] = ["sm_80", "sm_90"];
  // The combine is plain CUDA (no tensor cores, no arch-specific code, few registers): one arch is enough.
  const plainArch: CudaArch = "sm_80";
  for (const name of goldenExamples) {
    // The most registers: the largest head dim with q in registers, and the largest of all (q in shared
    // memory). Dynamic kernels differ from static ones only in their segment loop and mask, so those two
    // cover them; static ones also at 80, where D / 16 is odd (the QK loop's lone last step).
    const largest = [cudaMaxRegisterQ, cudaCapabilities.headDims.max];
    const headDims = dynamicExampleNames.some((dynamic) => dynamic === name) ? largest : [80, ...largest];
    it(`${name}: f16 and bf16, head dim${headDims.length > 1 ? "s" : ""} ${headDims.join(" and ")}`, () => {
      for (const dtype of ["f16", "bf16"] as const) {
        for (const headDim of headDims) {
          for (const { source, builder } of cudaKernels(name, headDim, dtype)) {
            // A builder's text does not depend on the element type or head dim: compiled once. The odd last k
            // step at 80 does not depend on the element type either.
            if ((builder || headDim === 80) && dtype !== "f16") continue;
            // Both archs get the same text: sm_80 is checked where registers run out first, at the largest head dims.
            for (const arch of largest.includes(headDim) ? archs : archs.filter((a) => a !== "sm_80")) {
              const report = ptxasReport(compileToPtx(source, arch), arch);
              const where = `${name} ${dtype} D=${headDim} ${arch}`;
              expect(report.spillStores, `${where}: spill stores`).toBe(0);
              expect(report.spillLoads, `${where}: spill loads`).toBe(0);
              expect(report.registers, `${where}: registers`).toBeLessThanOrEqual(255);
            }
          }
        }
      }
    }, 300_000);
  }

  /**
   * Every entry of an estimator module is assembled, on both archs (ptxas's register choices differ: the
   * XAttention mass kernel spilled on sm_90 only at D 128), and none spills or keeps an array in local memory
   * (vertical-slash's logits kernel held its K row there).
   */
  const expectNoSpills = (source: string, names: Record<string, string>, where: string): void => {
    for (const arch of archs) {
      const report = ptxasReport(compileToPtx(source, arch), arch);
      expect([...report.entries.keys()].sort(), `${where} ${arch}: entries`).toEqual(Object.values(names).sort());
      expect(report.spillStores + report.spillLoads, `${where} ${arch}: spills`).toBe(0);
      expect(report.stackFrame, `${where} ${arch}: stack frame`).toBe(0);
    }
  };

  it("the block top-k estimator compiles for f16 and bf16", () => {
    for (const element of cudaCapabilities.elements) expectNoSpills(emitBlockTopKCuda(element), blockTopKKernels(element), element);
  }, 120_000);

  it("the vertical-slash estimator compiles for f16 and bf16, without spills at the largest head dim and at one staged 16 a step", () => {
    // Head dims differ in the tile product's reduction steps: 64 a step at the largest, 16 at 80.
    for (const headDim of [cudaCapabilities.headDims.max, 80]) {
      for (const element of cudaCapabilities.elements) expectNoSpills(emitVerticalSlashCuda(element, headDim), verticalSlashKernels(element, headDim), `${element} D=${headDim}`);
    }
  }, 120_000);

  it("the XAttention estimator compiles for f16 and bf16, without spills: on CUDA cores where it stages the most query values and where it scores the most cell rows at once, and on tensor cores", () => {
    const headDim = cudaCapabilities.headDims.max;
    for (const [D, stride] of [[headDim, Math.floor(maxStagedQuery / headDim)], [80, 4]] as const) {
      for (const element of cudaCapabilities.elements) expectNoSpills(emitXAttentionMassCuda(element, D, stride), { mass: xattentionMassKernels(element, D, stride).cudaCores }, `${element} D=${D} S=${stride} on CUDA cores`);
    }
    // On tensor cores nothing is staged by the stride: a reduction of 64 a step and one of 16, in bf16 (it took
    // at least as many registers as f16 in every case tried, and at D 80, S 1 it spilled first).
    for (const [D, stride] of [[128, 8], [80, 1]] as const) {
      const name = xattentionMassKernels("bf16", D, stride).tensorCores;
      expectNoSpills(emitXAttentionTensorMassCuda("bf16", D, stride, name), { mass: name }, `bf16 D=${D} S=${stride} on tensor cores`);
    }
    expectNoSpills(emitXAttentionSelectCuda(), xattentionSelectKernels, "the selection");
  }, 120_000);

  it("the split-K combine compiles for every head dim", () => {
    for (const headDim of headDimsOf(cudaCapabilities.headDims)) {
      expect(ptxasReport(compileToPtx(emitSplitCombineCuda(headDim), plainArch), plainArch).spillStores, `D=${headDim}`).toBe(0);
    }
  }, 120_000);

  it("the causal-dense and masked-dense baselines compile too", () => {
    for (const variant of ["causalDense", "maskedDense"] as const) {
      const [kernel] = cudaKernels("a_shape", 128, "bf16", variant);
      const report = ptxasReport(compileToPtx(kernel?.source ?? "", "sm_90"), "sm_90");
      expect(report.spillStores, variant).toBe(0);
    }
  }, 120_000);

  it("refuses what the kernel cannot do with a coded error, never a wrong kernel", () => {
    const refused = (f: () => unknown): string => {
      try {
        f();
      } catch (error) {
        if (error instanceof DiagnosticError) return error.diagnostics.map((d) => d.code).join(",");
      }
      return "accepted";
    };
    expect(refused(() => cudaKernels("a_shape", 72, "f16"))).toBe("STP501");
    expect(refused(() => cudaKernels("a_shape", cudaCapabilities.headDims.max + 16, "f16"))).toBe("STP501");
    expect(refused(() => cudaKernels("a_shape", 64, "f32"))).toBe("STP501");
    expect(refused(() => lowerAttention(bindOrThrow(examplePattern("a_shape"), { qLen: 1, kvLen: 1, heads: 1 }), 0, { headDim: 64, dtype: "f16", blockM: 32, blockN: 64 }).map((l) => emitCuda(l.kernel)))).toBe("STP501");
  });
});
