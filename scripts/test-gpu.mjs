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
const run = spawnSync("npx", ["vitest", "run", "--config", "vitest.gpu.config.ts", ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(run.status ?? 1);
