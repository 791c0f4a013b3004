// `npm run test:gpu`: the CUDA kernels executed on an NVIDIA GPU against the dense reference.
// Without a GPU it says that it ran nothing and exits 77 (the conventional "skipped"), never 0.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

const smi = spawnSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { encoding: "utf8" });
const gpu = smi.status === 0 ? smi.stdout.trim() : "";
if (gpu === "") {
  process.stdout.write("test:gpu: no NVIDIA GPU found (nvidia-smi reports none): RAN NOTHING. This is not a pass.\n");
  process.exit(77);
}
const suite = "test/gpu/cuda-run.test.ts";
if (!existsSync(suite)) {
  process.stdout.write(`test:gpu: GPU ${gpu} found, but the CUDA runtime suite (${suite}) is not written yet: RAN NOTHING. This is not a pass.\n`);
  process.exit(1);
}
const run = spawnSync("npx", ["vitest", "run", suite], { stdio: "inherit" });
process.exit(run.status ?? 1);
