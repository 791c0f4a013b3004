import { writeFileSync } from "node:fs";
import { openCuda, type CudaContext } from "../backends/cuda/device.js";
import { dispatchCudaEstimator } from "../backends/cuda/estimate-run.js";
import { CudaAttentionBuffers, timeCudaAttention, timeCudaWork } from "../backends/cuda/run.js";
import { cudaLowering, cudaQInShared, type CudaElement } from "../backends/cuda/schedule.js";
import { packFor, splitsFor } from "../backends/split-k.js";
import { bindPattern } from "../compiler/bind.js";
import { memoryHost } from "../compiler/load.js";
import { compileProgram } from "../compiler/program.js";
import { DiagnosticError } from "../diagnostics/diagnostic.js";
import { printEstimator } from "../ir/estimate/estimator.js";
import { queryTileCount } from "../ir/kernel/kernel.js";
import { unpackDeviceInputs } from "../ir/kernel/unpack-inputs.js";
import { Bitset } from "../ir/mask/bitset.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import type { Binding } from "../ir/pattern/binding.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../ir/reference/tolerance.js";
import type { AttentionTensors } from "../backends/tensors.js";
import { lowerAttention } from "../passes/lower.js";
import { roundedTo } from "../util/half.js";
import { binding, outputsOf, rebound, share, timedCases, type Case } from "./dynamic-cases.js";
import { provenance } from "./measure.js";
import type { PlantedProblem } from "./planted.js";

/**
 * The CUDA kernels on the NVIDIA GPU at hand (`npm run bench -- cuda`), every time from device events, the
 * variants side by side in one run; written for the GPU machine (it needs the driver), recorded with the
 * device's name in bench/results/cuda-gpu.json.
 * 1. Decode: 1, 4 and 16 query rows against 64k, 256k and 1M keys (STIPPLE_BENCH_DECODE_KEYS), 8 query heads
 *    over 2 KV heads (one tensor-parallel rank of a 32-over-8 model), D 128, bf16: the plain launch (a block
 *    per head and query tile, no split) against the default one (GQA heads packed, split-K sized to the
 *    multiprocessors), with the K/V bandwidth each reaches. Q = 1 outputs are checked against the Float64
 *    reference, the others against the plain kernel.
 * 2. Dynamic sparsity: vertical-slash and block top-k at 8k, 16k and 32k tokens (STIPPLE_BENCH_LENGTH), 5, 10
 *    and 20 % of the causal pairs, and XAttention at its planted budget, 4 heads (512 blocks of 64 query
 *    rows at 8k: the device is full), D 128: estimator, tile-index builder and sparse kernel timed apart
 *    against causal-dense, as wgsl-dynamic.ts does on WebGPU (the targets: estimate + build ≤ 15 %
 *    of the sparse kernel, total speedup ≥ 0.6 of ideal; XAttention's scoring is Q·K·D/S multiply-adds on
 *    CUDA cores, so its share is expected far above that).
 * 3. Head dims: the static A-shape kernel at 16k, D 64 to 256, in TFLOP/s on kept pairs: what keeping q in
 *    shared memory and folding tiles 16 keys at a time (past 144) costs.
 */
const element: CudaElement = "bf16";
const headDim = 128;
const repetitions = Number(process.env["STIPPLE_BENCH_REPS"] ?? 20);

const decodeSources: Record<string, string> = {
  "decode.stip": `pattern causal_decode = causal
pattern streaming(sink: int(0..) = 64, window: int(0..) = 4096) = causal & (k < sink | q - k < window)`,
};

/** Uniform values in [−1, 1) from a multiplicative hash: cheap at a billion elements, unlike Math.random. */
function hashed(length: number, seed: number): Float32Array {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = (Math.imul(i + seed * 0x9e3779b1, 0x85ebca6b) >>> 0) / 2147483648 - 1;
  return data;
}

interface DecodeRow {
  readonly pattern: string;
  readonly keys: number;
  readonly qLen: number;
  readonly pack: number;
  readonly splits: number;
  readonly plainMs: number;
  readonly launchedMs: number;
  readonly speedup: number;
  /** K and V bytes the kept keys hold, over the launched kernel's time. */
  readonly launchedGBs: number;
  /** The launched output against the reference (Q = 1) or the plain kernel, relative to the output's scale. */
  readonly check: { readonly against: "reference" | "plain"; readonly relativeError: number };
}

function decode(gpu: CudaContext): DecodeRow[] {
  const keyCounts = (process.env["STIPPLE_BENCH_DECODE_KEYS"] ?? "65536,262144,1048576").split(",").map(Number);
  const heads = 8, kvHeads = 2;
  const program = compileProgram(["decode.stip"], memoryHost(decodeSources));
  const rows: DecodeRow[] = [];
  process.stdout.write(`decode: H ${heads} over KVH ${kvHeads}, D ${headDim}, ${element}, ${repetitions} repetitions (device events)\n`);
  for (const keys of keyCounts) {
    // Host work dominates at 1M keys (a billion values to draw and round), so each tensor is made once and
    // one guarded set of buffers serves both patterns and both launches of a query length.
    const k = hashed(kvHeads * keys * headDim, 1), v = hashed(kvHeads * keys * headDim, 2);
    const seen = { k: roundedTo(k, element), v: roundedTo(v, element) };
    for (const qLen of [1, 4, 16]) {
      const q = hashed(heads * qLen * headDim, 3);
      const patterns = ["causal_decode", "streaming"].map((name) => {
        const pattern = program.patterns.get(name);
        if (pattern === undefined) throw new Error(`${name} does not check`);
        const bound = bindPattern(pattern, { shape: { qLen, kvLen: keys, heads, kvHeads } });
        if (!bound.ok) throw new Error(`cannot bind ${name}`);
        return { name, binding: bound.value, launches: lowerAttention(bound.value, 0, { headDim, dtype: element, ...cudaLowering }) };
      });
      const sizes = patterns[0]!.binding.sizes;
      const buffers = new CudaAttentionBuffers(gpu, { q, k, v }, sizes, patterns[0]!.launches, true);
      try {
        for (const { name, binding: bound, launches } of patterns) {
          // Each timing leaves its launch's output in out (every run writes the same values).
          const plainMs = timeCudaAttention(gpu, launches, buffers, repetitions, { splits: 1, pack: false });
          const plain = buffers.read(buffers.out, buffers.outLength, "out");
          const launchedMs = timeCudaAttention(gpu, launches, buffers, repetitions);
          buffers.checkPartials();
          const launched = buffers.read(buffers.out, buffers.outLength, "out");
          const mask = (h: number) => evaluateMask(bound, h, 0);
          const against = qLen === 1
            ? denseAttention({ q: { shape: [heads, qLen, headDim], data: roundedTo(q, element) }, k: { shape: [kvHeads, keys, headDim], data: seen.k }, v: { shape: [kvHeads, keys, headDim], data: seen.v }, maskOf: mask }).out
            : plain;
          const { maxAbsError, scale } = compareOutputs(against, launched);
          const check: DecodeRow["check"] = { against: qLen === 1 ? "reference" : "plain", relativeError: maxAbsError / scale };
          if (!(check.relativeError <= outputTolerance[element])) throw new Error(`decode ${name} K ${keys} Q ${qLen}: error ${check.relativeError} against the ${check.against}`);
          const pack = Math.max(...launches.map((l) => packFor(l.kernel, sizes, l.heads)));
          const splits = Math.max(...launches.map((l) => splitsFor(l.kernel, sizes, l.heads.length, 2 * gpu.multiprocessors, packFor(l.kernel, sizes, l.heads))));
          // Every query row of a decode launch reads the keys its last row keeps (at most a tile more).
          const keptKeys = mask(0).countRow(qLen - 1);
          const launchedGBs = (2 * kvHeads * keptKeys * headDim * 2) / (launchedMs * 1e6);
          const row: DecodeRow = { pattern: name, keys, qLen, pack, splits, plainMs, launchedMs, speedup: plainMs / launchedMs, launchedGBs, check };
          rows.push(row);
          process.stdout.write(`  ${name.padEnd(14)} K ${String(keys).padStart(7)} Q ${String(qLen).padStart(2)}: plain ${plainMs.toFixed(3)} ms, ` +
            `${pack} heads a block and ${splits} splits ${launchedMs.toFixed(3)} ms (${launchedGBs.toFixed(0)} GB/s of K/V) → ${row.speedup.toFixed(2)}×; error ${check.relativeError.toExponential(1)} against the ${check.against}\n`);
        }
      } finally {
        buffers.free();
      }
    }
  }
  return rows;
}

interface DynamicRow {
  readonly estimator: string;
  readonly length: number;
  readonly density: number;
  readonly ms: { readonly estimate: number; readonly build: number; readonly attend: number; readonly causalDense: number };
  readonly overheadShare: number;
  readonly speedup: number;
  readonly idealSpeedup: number;
  readonly ratio: number;
}

/** The estimator alone, then the builder and the sparse kernel on the inputs it chose (each stage timed apart). */
function dynamicCase(gpu: CudaContext, c: Case, problem: PlantedProblem, length: number, heads: number, causalDense: number): DynamicRow {
  const tensors = { q: problem.q.data, k: problem.k.data, v: problem.v.data };
  const base = binding(c.example, c.params, length, heads, outputsOf(c.estimator));
  const launches = lowerAttention(base, 0, { headDim, dtype: element, ...cudaLowering });
  const [launch] = launches;
  if (launch === undefined || launches.length !== 1) throw new Error("one launch expected");
  const buffers = new CudaAttentionBuffers(gpu, tensors, base.sizes, launches);
  let estimate: number, chosen;
  try {
    estimate = timeCudaWork(gpu, () => dispatchCudaEstimator(gpu, c.estimator, launch, buffers), repetitions);
    chosen = rebound(base, unpackDeviceInputs(buffers.readAux(launch), launch.kernel.inputs, base.sizes));
  } finally {
    buffers.free();
  }
  const sparse = lowerAttention(chosen, 0, { headDim, dtype: element, ...cudaLowering });
  const tiled = new CudaAttentionBuffers(gpu, tensors, chosen.sizes, sparse);
  let build: number, attend: number;
  try {
    // The build runs first: the kernel walks the index it leaves.
    build = timeCudaAttention(gpu, sparse, tiled, repetitions, { attend: false });
    attend = timeCudaAttention(gpu, sparse, tiled, repetitions, { build: false });
    checkLastRows(chosen, tensors, headDim, tiled.read(tiled.out, tiled.outLength, "out"), `${printEstimator(c.estimator)} at L ${length}`);
  } finally {
    tiled.free();
  }
  const density = share(chosen);
  const speedup = causalDense / (estimate + build + attend);
  return { estimator: printEstimator(c.estimator), length, density, ms: { estimate, build, attend, causalDense }, overheadShare: (estimate + build) / attend, speedup, idealSpeedup: 1 / density, ratio: speedup * density };
}

/** Rows checked per timed case: the last ones of head 0 (they keep the most keys), against the reference. */
const checkedRows = 32;

/**
 * The timed kernel's output, row by row, for the last rows of head 0 against the Float64 reference on the
 * chosen mask (the whole output would take minutes of host time at these lengths): a fast wrong kernel
 * stops the benchmark.
 */
function checkLastRows(chosen: Binding, tensors: AttentionTensors, D: number, out: Float32Array, where: string): void {
  const { Q, K, H, KVH } = chosen.sizes;
  const rows = Math.min(checkedRows, Q), first = Q - rows;
  const mask = evaluateMask(chosen, 0, 0);
  const last = new Bitset(rows, K);
  for (let r = 0; r < rows; r++) for (let key = 0; key < K; key++) if (mask.get(first + r, key)) last.set(r, key);
  const kvHead0 = (h: number): number => Math.floor((h * KVH) / H);
  const slice = (data: Float32Array, head: number, length: number, start: number, count: number) => roundedTo(data.subarray((head * length + start) * D, (head * length + start + count) * D), element);
  const reference = denseAttention({
    q: { shape: [1, rows, D], data: slice(tensors.q, 0, Q, first, rows) },
    k: { shape: [1, K, D], data: slice(tensors.k, kvHead0(0), K, 0, K) },
    v: { shape: [1, K, D], data: slice(tensors.v, kvHead0(0), K, 0, K) },
    maskOf: () => last,
  });
  const { maxAbsError, scale } = compareOutputs(reference.out, out.subarray(first * D, Q * D));
  if (!(maxAbsError / scale <= outputTolerance[element])) throw new Error(`${where}: the sparse kernel's last rows differ from the reference by ${maxAbsError / scale} of their scale`);
}

function causalDenseMs(gpu: CudaContext, length: number, heads: number): number {
  const base = binding("block_sparse", { block: 64 }, length, heads, ["blocks"]);
  const launches = lowerAttention(base, 0, { headDim, dtype: element, ...cudaLowering, variant: "causalDense" });
  const tensors = { q: hashed(heads * length * headDim, 4), k: hashed(heads * length * headDim, 5), v: hashed(heads * length * headDim, 6) };
  const buffers = new CudaAttentionBuffers(gpu, tensors, base.sizes, launches);
  try {
    return timeCudaAttention(gpu, launches, buffers, repetitions);
  } finally {
    buffers.free();
  }
}

function dynamic(gpu: CudaContext): DynamicRow[] {
  const lengths = (process.env["STIPPLE_BENCH_LENGTH"] ?? "8192,16384,32768").split(",").map(Number);
  const heads = 4;
  const rows: DynamicRow[] = [];
  for (const length of lengths) {
    const causalDense = causalDenseMs(gpu, length, heads);
    const tiles = queryTileCount(lowerAttention(binding("block_sparse", { block: 64 }, length, heads, ["blocks"]), 0, { headDim, dtype: element, ...cudaLowering })[0]!.kernel, length);
    process.stdout.write(`dynamic at L ${length}, ${heads} heads (${tiles} query tiles each), D ${headDim}, ${element}: causal-dense ${causalDense.toFixed(3)} ms\n`);
    // Cases with the same planting share one planted q/k (generating them is seconds of host time at these lengths).
    const planted = new Map<string, PlantedProblem>();
    for (const c of timedCases(length)) {
      const problem = planted.get(c.planting) ?? c.planted({ heads, length, headDim });
      planted.set(c.planting, problem);
      const row = dynamicCase(gpu, c, problem, length, heads, causalDense);
      rows.push(row);
      process.stdout.write(`  ${row.estimator}\n    density ${(100 * row.density).toFixed(1)} %: estimate ${row.ms.estimate.toFixed(3)} ms, build ${row.ms.build.toFixed(3)} ms, attend ${row.ms.attend.toFixed(3)} ms ` +
        `(estimate + build = ${(100 * row.overheadShare).toFixed(1)} % of attend); speedup ${row.speedup.toFixed(2)}× of ideal ${row.idealSpeedup.toFixed(2)}× → ratio ${row.ratio.toFixed(2)}\n`);
    }
  }
  return rows;
}

interface HeadDimRow {
  readonly headDim: number;
  /** Whether q stays in shared memory (past 144) and the tile is folded 16 keys at a time. */
  readonly qInShared: boolean;
  readonly ms: number;
  /** 4 · D flops per kept pair. */
  readonly tflops: number;
}

/**
 * The static A-shape kernel at 16k tokens, 8 heads, across head dims: what the wide path (q in shared
 * memory, 16-key softmax steps) costs against the register path, in TFLOP/s on kept pairs.
 */
function headDims(gpu: CudaContext): HeadDimRow[] {
  const length = 16384, heads = 8;
  const program = compileProgram(["streaming.stip"], memoryHost({ "streaming.stip": "pattern a_shape(sink: int(0..) = 128, window: int(0..) = 2048) = causal & (k < sink | q - k < window)" }));
  const pattern = program.patterns.get("a_shape");
  if (pattern === undefined) throw new Error("a_shape does not check");
  const bound = bindPattern(pattern, { shape: { qLen: length, kvLen: length, heads, kvHeads: heads } });
  if (!bound.ok) throw new Error("cannot bind a_shape");
  const kept = heads * evaluateMask(bound.value, 0, 0).count();
  const rows: HeadDimRow[] = [];
  process.stdout.write(`head dims: a_shape (sink 128, window 2048) at L ${length}, ${heads} heads, ${element}\n`);
  for (const D of [64, 96, 128, 144, 160, 192, 256]) {
    const tensors = { q: hashed(heads * length * D, 7), k: hashed(heads * length * D, 8), v: hashed(heads * length * D, 9) };
    const launches = lowerAttention(bound.value, 0, { headDim: D, dtype: element, ...cudaLowering });
    const buffers = new CudaAttentionBuffers(gpu, tensors, bound.value.sizes, launches);
    try {
      const ms = timeCudaAttention(gpu, launches, buffers, repetitions);
      checkLastRows(bound.value, tensors, D, buffers.read(buffers.out, buffers.outLength, "out"), `a_shape at D ${D}`);
      const row = { headDim: D, qInShared: cudaQInShared(D), ms, tflops: (4 * D * kept) / (ms * 1e9) };
      rows.push(row);
      process.stdout.write(`  D ${String(D).padStart(3)}${row.qInShared ? " (q in shared memory)" : ""}: ${ms.toFixed(3)} ms, ${row.tflops.toFixed(1)} TFLOP/s on kept pairs\n`);
    } finally {
      buffers.free();
    }
  }
  return rows;
}

/** Runs the benchmark; without a usable GPU it says so and exits 77 ("skipped", as test:gpu does), never 0. */
export function runCudaGpu(): void {
  let gpu: CudaContext;
  try {
    gpu = openCuda(Number(process.env["STIPPLE_CUDA_DEVICE"] ?? 0));
  } catch (error) {
    if (!(error instanceof DiagnosticError)) throw error;
    process.stdout.write(`bench cuda: ${error.message}: RAN NOTHING.\n`);
    process.exit(77);
  }
  process.stdout.write(`CUDA on ${gpu.description}\n`);
  // STIPPLE_BENCH_ONLY=decode, dynamic or headDims runs one part.
  const only = process.env["STIPPLE_BENCH_ONLY"];
  const file = "bench/results/cuda-gpu.json";
  // Written after each part too: a run stopped part way (the GPU session's time limit) keeps the first.
  const save = (decodeRows: readonly DecodeRow[], dynamicRows: readonly DynamicRow[], headDimRows: readonly HeadDimRow[]): void => {
    writeFileSync(file, JSON.stringify({ ...provenance(), device: gpu.description, timing: "CUDA events around back-to-back launches, mean per launch after a warm-up", element, headDim, repetitions, decode: decodeRows, dynamic: dynamicRows, headDims: headDimRows }, null, 2) + "\n");
  };
  const decodeRows = only === undefined || only === "decode" ? decode(gpu) : [];
  save(decodeRows, [], []);
  const dynamicRows = only === undefined || only === "dynamic" ? dynamic(gpu) : [];
  save(decodeRows, dynamicRows, []);
  const headDimRows = only === undefined || only === "headDims" ? headDims(gpu) : [];
  save(decodeRows, dynamicRows, headDimRows);
  process.stdout.write(`wrote ${file}\n`);
}
