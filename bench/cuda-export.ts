import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileCuda } from "../backends/cuda/compile.js";
import { emitCuda } from "../backends/cuda/emit.js";
import { kernelParameters } from "../backends/cuda/signature.js";
import { cudaDynamicSharedBytes, cudaLowering, type CudaArch } from "../backends/cuda/schedule.js";
import { printMaskModule } from "../backends/flex/mask-mod.js";
import { bindPattern } from "../compiler/bind.js";
import { nodeHost } from "../compiler/node-host.js";
import { compileProgram } from "../compiler/program.js";
import { queryTileCount, type KernelLaunch } from "../ir/kernel/kernel.js";
import { lowerAttention, type KernelVariant } from "../passes/lower.js";
import { provenance } from "./measure.js";

/**
 * The GPU benchmark's first half, run where Stipple is built (no GPU needed): every static example's CUDA
 * kernels as PTX, the same masks as FlexAttention mask_mods, and a manifest with the launch geometry per
 * length. bench/gpu/compare_flex.py runs them on the GPU beside FlexAttention and SDPA in one process
 * (it needs PyTorch and CuPy there, not Node). Cases follow the WGSL benchmark, at head dim 128 in bf16.
 */
const headDim = 128;
const heads = 8;
const cases: readonly { name: string; pattern: string; params: Record<string, number>; inputs: Record<string, unknown>; variant: KernelVariant }[] = [
  { name: "a_shape", pattern: "a_shape", params: { sink: 128, window: 2048 }, inputs: {}, variant: "sparse" },
  { name: "sliding_window", pattern: "sliding_window", params: { window: 2048 }, inputs: {}, variant: "sparse" },
  { name: "tri_shape", pattern: "tri_shape", params: { sink: 128, window: 2048, last: 256 }, inputs: {}, variant: "sparse" },
  { name: "dilated", pattern: "dilated", params: { window: 1024, dilation: 2 }, inputs: {}, variant: "sparse" },
  { name: "prefix_lm", pattern: "prefix_lm", params: { prefix: 1024 }, inputs: {}, variant: "sparse" },
  { name: "grid", pattern: "grid", params: { stride: 256, phase: 0, window: 1024 }, inputs: {}, variant: "sparse" },
  { name: "ladder", pattern: "ladder", params: { sink: 4, window: 2048, group: 8, keep: 1 }, inputs: {}, variant: "sparse" },
  { name: "duo", pattern: "duo", params: { sink: 128, window: 2048 }, inputs: { retrieval: [[1, 0, 0, 0, 1, 0, 0, 0]] }, variant: "sparse" },
  // This compiler's own dense kernel, for the dense-equivalent throughput against SDPA.
  { name: "causal_dense", pattern: "prefix_lm", params: { prefix: 0 }, inputs: {}, variant: "causalDense" },
];

/** The benchmark's cases with their launches, lowered for head dim 128 in bf16 (lengths are bound at launch). */
export function benchmarkCases(): { readonly name: string; readonly pattern: string; readonly params: Record<string, number>; readonly variant: KernelVariant; readonly launches: readonly KernelLaunch[] }[] {
  return cases.map((c) => {
    const pattern = compileProgram([`examples/${c.pattern}.stip`], nodeHost).patterns.get(c.pattern);
    if (pattern === undefined) throw new Error(`example ${c.pattern} did not check`);
    const bound = bindPattern(pattern, { params: new Map(Object.entries(c.params)), shape: { qLen: 1, kvLen: 1, heads, kvHeads: heads }, inputs: new Map(Object.entries(c.inputs)) });
    if (!bound.ok) throw new Error(bound.diagnostics.map((d) => d.message).join("\n"));
    return { ...c, launches: lowerAttention(bound.value, 0, { headDim, dtype: "bf16", ...cudaLowering, variant: c.variant }) };
  });
}

export function exportCudaBenchmark(outDir: string, lengths: readonly number[], arch: CudaArch): void {
  mkdirSync(outDir, { recursive: true });
  const entries = benchmarkCases().map((c) => {
    const maskFile = `${c.name}.mask_mod.py`;
    writeFileSync(join(outDir, maskFile), printMaskModule(c.pattern, c.launches, Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(", ")));
    return {
      case: c.name, pattern: c.pattern, params: c.params, variant: c.variant, maskMod: maskFile,
      launches: c.launches.map((launch, at) => {
        const ptxFile = `${c.name}.${at}.ptx`;
        const source = emitCuda(launch.kernel);
        const { ptx, compiler } = compileCuda(source, arch);
        writeFileSync(join(outDir, ptxFile), ptx);
        const queryTiles = Object.fromEntries(lengths.map((length) => [String(length), queryTileCount(launch.kernel, length)]));
        // The launcher builds its arguments by these names (bench/gpu/launch_args.py).
        // Dynamic shared memory: 0 at head dim 128 (wide head dims need it, and their limit raised).
        return { kernel: launch.kernel.name, ptx: ptxFile, compiler, parameters: kernelParameters(source, launch.kernel.name), dynamicSharedBytes: cudaDynamicSharedBytes(launch.kernel), heads: launch.heads, layer: launch.layer, queryTiles };
      }),
    };
  });
  const manifest = { ...provenance(), arch, headDim, dtype: "bf16", heads, kvHeads: heads, threadsPerBlock: 128, lengths, cases: entries };
  writeFileSync(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  process.stdout.write(`wrote ${entries.length} cases (${entries.reduce((n, e) => n + e.launches.length, 0)} kernels, ${arch}) to ${outDir}/; on the GPU machine run:\n  python3 bench/gpu/compare_flex.py ${outDir}/manifest.json\n`);
}
