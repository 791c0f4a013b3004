import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileToPtx, ptxasReport } from "../backends/cuda/compile.js";
import { emitCuda } from "../backends/cuda/emit.js";
import { cudaTile, type CudaArch } from "../backends/cuda/schedule.js";
import { DiagnosticError } from "../diagnostics/diagnostic.js";
import type { Dtype } from "../ir/kernel/kernel.js";
import { lowerAttention, type KernelVariant } from "../passes/lower.js";
import { bindOrThrow, examplePattern } from "./helpers.js";

/**
 * The CUDA backend without a GPU: every static example's kernel, for each element type and head dim,
 * compiles with nvcc for sm_80 and sm_90, and ptxas reports no spills; golden .cu files. These need nvcc
 * and ptxas (this machine and CI have CUDA 13) and fail, never skip, without them. Execution against the
 * dense reference is `npm run test:gpu`.
 */
const staticExamples = ["a_shape", "sliding_window", "tri_shape", "dilated", "prefix_lm", "grid", "ladder", "duo"] as const;
const inputsOf: Record<string, Record<string, unknown>> = { duo: { retrieval: [[0, 1]] } };

function cudaKernels(name: string, headDim: number, dtype: Dtype, variant: KernelVariant = "sparse"): { heads: readonly number[]; source: string }[] {
  const binding = bindOrThrow(examplePattern(name), { qLen: 1, kvLen: 1, heads: 2, kvHeads: 2 }, {}, inputsOf[name] ?? {});
  return lowerAttention(binding, 0, { headDim, dtype, ...cudaTile, variant }).map((l) => ({ heads: l.heads, source: emitCuda(l.kernel) }));
}

describe("golden CUDA", () => {
  for (const name of staticExamples) {
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
  for (const name of staticExamples) {
    it(`${name}: f16 and bf16, head dims 64 and 128`, () => {
      for (const dtype of ["f16", "bf16"] as const) {
        for (const headDim of [64, 128]) {
          for (const { source } of cudaKernels(name, headDim, dtype)) {
            for (const arch of archs) {
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
    expect(refused(() => cudaKernels("a_shape", 80, "f16"))).toBe("STP501");
    expect(refused(() => cudaKernels("a_shape", 64, "f32"))).toBe("STP501");
    const dynamic = bindOrThrow(examplePattern("document"), { qLen: 1, kvLen: 1, heads: 1 }, {}, { doc: [0] });
    expect(refused(() => lowerAttention(dynamic, 0, { headDim: 64, dtype: "f16", ...cudaTile }).map((l) => emitCuda(l.kernel)))).toBe("STP501");
  });
});
