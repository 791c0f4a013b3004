import { progress } from "../util/progress.js";
import { writeFileSync } from "node:fs";
import { openWebGpu } from "../backends/wgsl/device.js";
import { AttentionBuffers, dispatchAttention, pipelineFor } from "../backends/wgsl/run.js";
import { defaultBlockM, defaultBlockN } from "../backends/wgsl/schedule.js";
import { bindPattern } from "../compiler/bind.js";
import { nodeHost } from "../compiler/node-host.js";
import { compileProgram } from "../compiler/program.js";
import type { Binding } from "../ir/pattern/binding.js";
import { causalPairs } from "../ir/plan/plan.js";
import { planStats } from "../ir/plan/stats.js";
import { lowerAttention, type KernelVariant } from "../passes/lower.js";
import { planPattern } from "../passes/plan.js";
import { provenance, type Timing } from "./measure.js";

/**
 * Static examples on the WebGPU adapter at hand (SwiftShader here): the sparse kernel against this
 * compiler's causal-dense and masked-dense kernels, interleaved in one run. Reports density, speedup over
 * causal-dense, the ideal speedup (causal pairs / kept pairs) and their ratio. Wall-clock around
 * onSubmittedWorkDone, after a warm-up dispatch (pipeline compile) of each kernel. D 64, or
 * STIPPLE_BENCH_HEAD_DIM (any the kernel takes; the tiles shrink with it), written to wgsl-static-dD.json.
 */
const headDim = Number(process.env["STIPPLE_BENCH_HEAD_DIM"] ?? 64);
/**
 * Tile shapes (query rows × keys) tried for every kernel, sparse and dense alike; each reports its fastest
 * (as Triton's autotuner and FlexAttention do). Bands narrower than the tile waste (BM − 1) / window of
 * their visits, so narrow windows prefer smaller tiles. STIPPLE_BENCH_TILES="16x32,64x32" overrides.
 */
interface Tile {
  readonly blockM: number;
  readonly blockN: number;
}
const tiles: readonly Tile[] = (process.env["STIPPLE_BENCH_TILES"] ?? `16x16,16x${defaultBlockN(headDim)},32x${defaultBlockN(headDim)},64x${defaultBlockN(headDim)}`)
  .split(",")
  .map((text) => {
    const [blockM = Number.NaN, blockN = Number.NaN] = text.split("x").map(Number);
    if (!Number.isInteger(blockM) || !Number.isInteger(blockN)) throw new Error(`STIPPLE_BENCH_TILES: \`${text}\` is not ROWSxKEYS`);
    return { blockM, blockN };
  });
const tileName = (tile: Tile): string => `${tile.blockM}x${tile.blockN}`;
const cases: readonly { name: string; params: Record<string, number>; heads: number; inputs: Record<string, unknown> }[] = [
  { name: "a_shape", params: { sink: 64, window: 512 }, heads: 1, inputs: {} },
  { name: "sliding_window", params: { window: 512 }, heads: 1, inputs: {} },
  { name: "tri_shape", params: { sink: 64, window: 512, last: 64 }, heads: 1, inputs: {} },
  { name: "dilated", params: { window: 256, dilation: 2 }, heads: 1, inputs: {} },
  { name: "prefix_lm", params: { prefix: 256 }, heads: 1, inputs: {} },
  { name: "grid", params: { stride: 64, phase: 0, window: 128 }, heads: 1, inputs: {} },
  { name: "ladder", params: { sink: 4, window: 512, group: 8, keep: 1 }, heads: 1, inputs: {} },
  { name: "duo", params: { sink: 64, window: 512 }, heads: 2, inputs: { retrieval: [[0, 0]] } },
];

interface Row {
  readonly pattern: string;
  readonly params: Record<string, number>;
  readonly density: number;
  readonly tileEfficiency: number;
  readonly idealSpeedup: number;
  readonly times: Record<KernelVariant, Timing>;
  /**
   * The same runs' CPU time (user + system of this process, so SwiftShader's worker threads too), median,
   * of the tile each variant was fastest with. On a software adapter it is the kernel's work: other tenants
   * of a shared VM do not enter it (they make wall-clock vary by 20–30 % from run to run), nor does idle
   * time at a launch's tail. Wall-clock stays the measure; this tells noise from cost.
   */
  readonly cpuTimes: Record<KernelVariant, Timing>;
  /** Speedup over causal-dense in CPU time, over the ideal. */
  readonly cpuRatio: number;
  /** The tile (rows × keys) each variant was fastest with. */
  readonly tile: Record<KernelVariant, string>;
  /** Every candidate's single probe run (ms), before pruning. */
  readonly probes: Record<string, number>;
  readonly speedup: number;
  readonly ratio: number;
  readonly maskedDenseSpeedup: number;
}

export interface WgslBenchOptions {
  readonly length?: number;
  readonly repetitions?: number;
  /** Names of examples to run (default: all static ones). */
  readonly only?: readonly string[];
  readonly resultFile?: string;
  /** No table on stdout (--json prints the result file instead) and no progress line. */
  readonly quiet?: boolean;
}

export async function runWgslStatic(options: WgslBenchOptions = {}): Promise<void> {
  const length = options.length ?? Number(process.env["STIPPLE_BENCH_LENGTH"] ?? 4096);
  const repetitions = options.repetitions ?? Number(process.env["STIPPLE_BENCH_REPS"] ?? 5);
  const gpu = await openWebGpu();
  const say = (text: string): void => {
    if (options.quiet !== true) process.stdout.write(text);
  };
  say(`WGSL benchmark on ${gpu.description}, L = ${length}, D = ${headDim}, ${repetitions} repetitions (median)\n`);
  const rows: Row[] = [];
  const only = options.only ?? process.env["STIPPLE_BENCH_ONLY"]?.split(",");
  const chosen = cases.filter((x) => only === undefined || only.includes(x.name));
  const bar = progress("bench", chosen.length, { quiet: options.quiet === true });
  for (const [done, c] of chosen.entries()) {
    bar.update(done, c.name);
    const pattern = compileProgram([`examples/${c.name}.stip`], nodeHost).patterns.get(c.name);
    if (pattern === undefined) throw new Error(`example ${c.name} does not check`);
    const bound = bindPattern(pattern, { params: new Map(Object.entries(c.params)), shape: { qLen: length, kvLen: length, heads: c.heads }, inputs: new Map(Object.entries(c.inputs)) });
    if (!bound.ok) throw new Error(`cannot bind ${c.name}`);
    const binding = bound.value;
    const schedule = { blockM: defaultBlockM, blockN: defaultBlockN(headDim) };
    let kept = 0, computed = 0;
    for (let head = 0; head < c.heads; head++) {
      const { plan, regions } = planPattern(binding, { head, layer: 0 }, schedule);
      const stats = planStats(plan, regions, binding, head, 0, headDim);
      kept += stats.keptPairs;
      computed += stats.computedPairs;
    }
    const causal = causalPairs(binding.sizes) * c.heads;
    const { times, cpuTimes, tile, probes } = await timeVariants(gpu, binding, repetitions);
    const speedup = times.causalDense.medianMs / times.sparse.medianMs;
    const idealSpeedup = causal / Math.max(1, kept);
    const row: Row = {
      pattern: c.name, params: c.params, density: kept / (length * length * c.heads), tileEfficiency: kept / Math.max(1, computed),
      idealSpeedup, times, cpuTimes, tile, probes, speedup, ratio: speedup / idealSpeedup, cpuRatio: cpuTimes.causalDense.medianMs / cpuTimes.sparse.medianMs / idealSpeedup,
      maskedDenseSpeedup: times.maskedDense.medianMs / times.sparse.medianMs,
    };
    rows.push(row);
    say(
      `${c.name.padEnd(15)} density ${(100 * row.density).toFixed(1).padStart(5)} %  sparse ${times.sparse.medianMs.toFixed(1).padStart(8)} ms  causal-dense ${times.causalDense.medianMs.toFixed(1).padStart(8)} ms  ` +
      `masked-dense ${times.maskedDense.medianMs.toFixed(1).padStart(8)} ms  speedup ${speedup.toFixed(2)}× of ideal ${idealSpeedup.toFixed(2)}× → ratio ${row.ratio.toFixed(2)}, in CPU time ${row.cpuRatio.toFixed(2)} (tiles ${tile.sparse} / ${tile.causalDense})\n`,
    );
  }
  const file = options.resultFile ?? (headDim === 64 ? "bench/results/wgsl-static.json" : `bench/results/wgsl-static-d${headDim}.json`);
  writeFileSync(file, JSON.stringify({ ...provenance(), adapter: gpu.description, timing: "wall clock around queue.onSubmittedWorkDone, median; cpuTimes: the same runs' process CPU time (user + system), median", length, headDim, tiles: `${tiles.map(tileName).join(", ")}: fastest per kernel`, tileEfficiencyAt: `${defaultBlockM} x ${defaultBlockN(headDim)} (the plan's, not the lattice kernels')`, dtype: "f32", rows }, null, 2) + "\n");
  bar.finish();
  say(`wrote ${file}\n`);
}

async function timeVariants(gpu: Awaited<ReturnType<typeof openWebGpu>>, binding: Binding, repetitions: number): Promise<{ times: Record<KernelVariant, Timing>; cpuTimes: Record<KernelVariant, Timing>; tile: Record<KernelVariant, string>; probes: Record<string, number> }> {
  const { Q, K, H, KVH } = binding.sizes;
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.618));
  const buffers = new AttentionBuffers(gpu, { q: random(H * Q * headDim), k: random(KVH * K * headDim), v: random(KVH * K * headDim) }, binding.sizes, { headDim, dtype: "f32" });
  const variants: readonly KernelVariant[] = ["sparse", "causalDense", "maskedDense"];
  const candidates = variants.flatMap((variant) => tiles.map((tile) => ({ variant, tile })));
  const launches = candidates.map((c) => lowerAttention(binding, 0, { headDim, dtype: "f32", ...c.tile, variant: c.variant }));
  const samples = candidates.map((): number[] => []);
  const cpuSamples = candidates.map((): number[] => []);
  /** Wall-clock and CPU milliseconds of one run of candidate `at`. */
  const timed = async (at: number): Promise<{ wall: number; cpu: number }> => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await dispatchAttention(gpu, launches[at] ?? [], buffers);
    const wall = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return { wall, cpu: (used.user + used.system) / 1000 };
  };
  // Compile every pipeline, then probe each candidate once; only those within 50 % of their variant's best
  // probe are timed repeatedly (a tuner's pruning: the 16-row dense kernels take many times longer).
  for (const l of launches) for (const { kernel } of l) pipelineFor(gpu, kernel);
  const probes: number[] = [];
  for (const at of candidates.keys()) probes.push((await timed(at)).wall);
  const bestProbe = (v: KernelVariant): number => Math.min(...candidates.flatMap((c, at) => (c.variant === v ? [probes[at] ?? Infinity] : [])));
  const contenders = [...candidates.keys()].filter((at) => {
    const c = candidates[at];
    return c !== undefined && (probes[at] ?? Infinity) <= 1.5 * bestProbe(c.variant);
  });
  for (let r = 0; r < repetitions; r++) {
    for (const at of contenders) {
      const { wall, cpu } = await timed(at);
      samples[at]?.push(wall);
      cpuSamples[at]?.push(cpu);
    }
  }
  buffers.destroy();
  const summary = (list: readonly number[]): Timing => {
    const s = [...list].sort((a, b) => a - b);
    return s.length === 0 ? { minMs: Infinity, medianMs: Infinity, maxMs: Infinity, repetitions: 0 } : { minMs: s[0] ?? 0, medianMs: s[Math.floor(s.length / 2)] ?? 0, maxMs: s.at(-1) ?? 0, repetitions };
  };
  const timings = samples.map(summary), cpuTimings = cpuSamples.map(summary);
  const best = (v: KernelVariant): number => {
    let chosen = -1;
    candidates.forEach((c, at) => {
      if (c.variant === v && (chosen < 0 || (timings[at]?.medianMs ?? Infinity) < (timings[chosen]?.medianMs ?? Infinity))) chosen = at;
    });
    return chosen;
  };
  const pick = (v: KernelVariant, from = timings): Timing => from[best(v)] ?? { minMs: 0, medianMs: 0, maxMs: 0, repetitions };
  const tileOf = (v: KernelVariant): string => {
    const chosen = candidates[best(v)];
    return chosen === undefined ? "none" : tileName(chosen.tile);
  };
  return {
    times: { sparse: pick("sparse"), causalDense: pick("causalDense"), maskedDense: pick("maskedDense") },
    cpuTimes: { sparse: pick("sparse", cpuTimings), causalDense: pick("causalDense", cpuTimings), maskedDense: pick("maskedDense", cpuTimings) },
    tile: { sparse: tileOf("sparse"), causalDense: tileOf("causalDense"), maskedDense: tileOf("maskedDense") },
    probes: Object.fromEntries(candidates.map((c, at) => [`${c.variant} ${tileName(c.tile)}`, Math.round(probes[at] ?? 0)])),
  };
}
