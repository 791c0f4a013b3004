import { writeFileSync } from "node:fs";
import { openWebGpu } from "../backends/wgsl/device.js";
import { AttentionBuffers, dispatchAttention, pipelineFor } from "../backends/wgsl/run.js";
import { packFor, splitsFor } from "../backends/split-k.js";
import { defaultBlockM, defaultBlockN } from "../backends/wgsl/schedule.js";
import { bindPattern } from "../compiler/bind.js";
import { memoryHost } from "../compiler/load.js";
import { compileProgram } from "../compiler/program.js";
import { lowerAttention } from "../passes/lower.js";
import { provenance } from "./measure.js";

/**
 * Decode on the WebGPU adapter at hand: 1, 4 and 16 query rows against 64k keys (STIPPLE_BENCH_DECODE_KEYS),
 * 8 query heads over 2 KV heads (STIPPLE_BENCH_DECODE_HEADS), D 64; each kernel timed plainly (a workgroup
 * per head and query tile, no split) and as launched by default (GQA heads packed per KV head, split-K
 * sized to the adapter), side by side. A CPU adapter has few cores, so splitting gains little there; a GPU
 * has far more to fill.
 */
const sources: Record<string, string> = {
  "decode.stip": `pattern causal_decode = causal
pattern streaming(sink: int(0..) = 64, window: int(0..) = 4096) = causal & (k < sink | q - k < window)`,
};

export async function runWgslDecode(): Promise<void> {
  const keys = Number(process.env["STIPPLE_BENCH_DECODE_KEYS"] ?? 65536);
  const repetitions = Number(process.env["STIPPLE_BENCH_REPS"] ?? 3);
  const headDim = 64, heads = Number(process.env["STIPPLE_BENCH_DECODE_HEADS"] ?? 8), kvHeads = Math.max(1, heads / 4);
  const gpu = await openWebGpu();
  process.stdout.write(`decode on ${gpu.description}: K ${keys}, H ${heads} over KVH ${kvHeads}, D ${headDim}, ${repetitions} repetitions (median)\n`);
  const program = compileProgram(["decode.stip"], memoryHost(sources));
  const rows = [];
  for (const name of ["causal_decode", "streaming"]) {
    const pattern = program.patterns.get(name);
    if (pattern === undefined) throw new Error(`${name} does not check`);
    for (const qLen of [1, 4, 16]) {
      const bound = bindPattern(pattern, { shape: { qLen, kvLen: keys, heads, kvHeads } });
      if (!bound.ok) throw new Error(`cannot bind ${name}`);
      const sizes = bound.value.sizes;
      const launches = lowerAttention(bound.value, 0, { headDim, dtype: "f32", blockM: defaultBlockM, blockN: defaultBlockN(headDim) });
      const random = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.618));
      const buffers = new AttentionBuffers(gpu, { q: random(heads * qLen * headDim), k: random(kvHeads * keys * headDim), v: random(kvHeads * keys * headDim) }, sizes, { headDim, dtype: "f32" });
      for (const { kernel } of launches) pipelineFor(gpu, kernel);
      const pack = Math.max(...launches.map((l) => packFor(l.kernel, sizes, l.heads)));
      const splits = Math.max(...launches.map((l) => splitsFor(l.kernel, sizes, l.heads.length, gpu.concurrency, packFor(l.kernel, sizes, l.heads))));
      const samples: Record<"plain" | "launched", number[]> = { plain: [], launched: [] };
      for (let r = 0; r <= repetitions; r++) {
        for (const variant of ["plain", "launched"] as const) {
          const start = performance.now();
          await dispatchAttention(gpu, launches, buffers, variant === "plain" ? { build: true, attend: true, splits: 1, pack: false } : { build: true, attend: true, splits: "auto", pack: true });
          if (r > 0) samples[variant].push(performance.now() - start);
        }
      }
      buffers.destroy();
      const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;
      const row = { pattern: name, qLen, pack, splits, plainMs: median(samples.plain), launchedMs: median(samples.launched), speedup: median(samples.plain) / median(samples.launched) };
      rows.push(row);
      process.stdout.write(`  ${name.padEnd(14)} Q ${String(qLen).padStart(2)}: plain ${row.plainMs.toFixed(0)} ms, ${pack} heads a workgroup and ${splits} splits ${row.launchedMs.toFixed(0)} ms → ${row.speedup.toFixed(2)}×\n`);
    }
  }
  const file = "bench/results/wgsl-decode.json";
  writeFileSync(file, JSON.stringify({ ...provenance(), adapter: gpu.description, timing: "wall clock around queue.onSubmittedWorkDone, median, plain and default launches interleaved", keys, heads, kvHeads, headDim, rows }, null, 2) + "\n");
  process.stdout.write(`wrote ${file}\n`);
}
