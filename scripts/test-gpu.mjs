// `npm run test:gpu`: the CUDA kernels executed on an NVIDIA GPU against the dense reference
// (test/gpu/, vitest.gpu.config.ts). Without a GPU it says that it ran nothing and exits 77 (the
// conventional "skipped"), never 0.
import { spawnSync } from "node:child_process";

const smi = spawnSync("nvidia-smi", ["--query-gpu=name,compute_cap", "--format=csv,noheader"], { encoding: "utf8" });
const gpu = smi.status === 0 ? smi.stdout.trim() : "";
if (gpu === "") {
  process.stdout.write("test:gpu: no NVIDIA GPU found (nvidia-smi reports none): RAN NOTHING. This is not a pass.\n");
  process.exit(77);
}
process.stdout.write(`test:gpu: ${gpu}\n`);
// `npm run test:gpu -- --sanitize`: the same suite under compute-sanitizer's memcheck (every out-of-bounds or
// misaligned device access is an error; vitest's worker processes are followed). Written for the GPU
// machine; not yet run there.
const sanitize = process.argv.includes("--sanitize");
const args = process.argv.slice(2).filter((arg) => arg !== "--sanitize");
const vitest = ["./node_modules/vitest/vitest.mjs", "run", "--config", "vitest.gpu.config.ts", ...args];
if (sanitize && spawnSync("compute-sanitizer", ["--version"]).status !== 0) {
  process.stdout.write("test:gpu --sanitize: compute-sanitizer is not on PATH: RAN NOTHING.\n");
  process.exit(77);
}
const run = sanitize
  ? spawnSync("compute-sanitizer", ["--tool", "memcheck", "--target-processes", "all", "--error-exitcode", "99", process.execPath, ...vitest], { stdio: "inherit" })
  : spawnSync(process.execPath, vitest, { stdio: "inherit" });
process.exit(run.status ?? 1);
