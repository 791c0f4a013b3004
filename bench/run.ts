import { exportCudaBenchmark } from "./cuda-export.js";
import { runCudaGpu } from "./cuda-gpu.js";
import { runPlanScaling } from "./plan-scaling.js";
import { runWgslDecode } from "./wgsl-decode.js";
import { runWgslDynamic } from "./wgsl-dynamic.js";
import { runWgslStatic } from "./wgsl-static.js";

/**
 * `npm run bench [-- plan|wgsl|dynamic|decode|cuda|cuda-export]`: the benchmarks, each writing bench/results/NAME.json. Every
 * figure is a ratio measured side by side in one run; absolute times only mean something with the adapter
 * named. `cuda-export` (not in the default set) writes the GPU benchmark's kernels to bench/gpu/kernels/
 * for bench/gpu/compare_flex.py (STIPPLE_BENCH_ARCH, default sm_90); `cuda` (not in the default set either)
 * times the CUDA kernels on an NVIDIA GPU (cuda-gpu.ts).
 */
const only = process.argv[2];
if (only === undefined || only === "plan") runPlanScaling();
if (only === undefined || only === "wgsl") await runWgslStatic();
if (only === undefined || only === "dynamic") await runWgslDynamic();
if (only === undefined || only === "decode") await runWgslDecode();
if (only === "cuda") runCudaGpu();
if (only === "cuda-export") exportCudaBenchmark("bench/gpu/kernels", [8192, 32768, 131072], process.env["STIPPLE_BENCH_ARCH"] === "sm_80" ? "sm_80" : "sm_90");
process.exit(0);
