import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { compileCuda, ptxasReport } from "../backends/cuda/compile.js";
import { openCuda, type CudaContext } from "../backends/cuda/device.js";
import { emitCuda } from "../backends/cuda/emit.js";
import { koffi } from "../backends/cuda/ffi.js";
import { findNvrtc } from "../backends/cuda/nvrtc.js";
import { CudaAttentionBuffers, runCudaAttention, timeCudaAttention, timeCudaWork } from "../backends/cuda/run.js";
import { cudaLowering } from "../backends/cuda/schedule.js";
import { splitsFor } from "../backends/split-k.js";
import { dispatchCudaEstimator, runCudaEstimatedAttention } from "../backends/cuda/estimate-run.js";
import { verticalSlashHeadChunkCuda, verticalSlashScratchBytes, verticalSlashScratchCuda } from "../backends/cuda/estimate-vertical-slash.js";
import { xattentionScratch, xattentionScratchBytesCuda } from "../backends/cuda/estimate-xattention.js";
import { verticalSlashHeadChunk } from "../backends/estimated-input.js";
import { bindPattern } from "../compiler/bind.js";
import { DiagnosticError } from "../diagnostics/diagnostic.js";
import { queryTileCount, type KernelLaunch } from "../ir/kernel/kernel.js";
import { lowerAttention } from "../passes/lower.js";
import { writeNpy } from "../util/npy.js";
import { runCli } from "./cli-runner.js";
import { bindOrThrow, examplePattern } from "./helpers.js";

/**
 * The CUDA runtime without a GPU. NVRTC is real (CI installs Debian's libnvrtc); the driver is a stub
 * (test/fixtures/libcuda-stub.c, built here with the system C compiler) whose memory is host memory and
 * whose launches are recorded, not run. So these tests check what the runtime hands the driver — PTX,
 * grids, arguments, copies, frees — and how it reports driver failures; that kernels compute the right
 * thing on a GPU is `npm run test:gpu`.
 */
const scratch = mkdtempSync(join(tmpdir(), "stipple-cuda-stub-"));
const stubPath = join(scratch, "libcuda-stub.so");

interface Stub {
  launchCount(): number;
  launchKernel(at: number): string;
  launchShape(at: number): number[];
  launchArgs(at: number): bigint[];
  /** The launch's dynamic shared memory, and its kernel's raised limit then (0: never raised). */
  launchShared(at: number): number[];
  lastPtx(): string;
  liveAllocations(): number;
  reset(): void;
}

let stub: Stub;
let context: CudaContext;

beforeAll(() => {
  execFileSync("cc", ["-shared", "-fPIC", "-O1", "-o", stubPath, "test/fixtures/libcuda-stub.c"]);
  process.env["STIPPLE_LIBCUDA"] = stubPath;
  context = openCuda();
  // The same file, so the same loaded library: these read the state the runtime's calls left.
  const library = koffi().load(stubPath);
  const shape = library.func("void stubLaunchShape(int at, _Out_ uint32_t *out)");
  const args = library.func("void stubLaunchArgs(int at, _Out_ uint64_t *out)");
  const shared = library.func("void stubLaunchShared(int at, _Out_ uint32_t *out)");
  stub = {
    launchCount: library.func("int stubLaunchCount()") as () => number,
    launchKernel: library.func("const char *stubLaunchKernel(int at)") as (at: number) => string,
    launchShape: (at) => {
      const out = new Uint32Array(6);
      shape(at, out);
      return [...out];
    },
    launchArgs: (at) => {
      const out = new BigUint64Array(16);
      args(at, out);
      return [...out];
    },
    launchShared: (at) => {
      const out = new Uint32Array(2);
      shared(at, out);
      return [...out];
    },
    lastPtx: library.func("const char *stubLastPtx()") as () => string,
    liveAllocations: () => Number(library.func("long stubLiveAllocations()")()),
    reset: library.func("void stubReset()") as () => void,
  };
}, 60_000);

function launchesOf(name: string, shape: { qLen: number; kvLen: number; heads?: number; kvHeads?: number; layers?: number }, dtype: "f16" | "bf16", inputs: Record<string, unknown> = {}, layer = 0): { launches: KernelLaunch[]; sizes: ReturnType<typeof bindOrThrow>["sizes"] } {
  const binding = bindOrThrow(examplePattern(name), shape, {}, inputs);
  return { launches: lowerAttention(binding, layer, { headDim: 64, dtype, ...cudaLowering }), sizes: binding.sizes };
}

describe("NVRTC through koffi", () => {
  it("is found (CI installs it) and compiles every static example to PTX that ptxas takes without spills", () => {
    const nvrtc = findNvrtc();
    expect("compile" in nvrtc, `NVRTC was not found (looked in ${"looked" in nvrtc ? nvrtc.looked.join(", ") : ""}): scripts/install-cuda-tools.sh installs it`).toBe(true);
    for (const name of ["a_shape", "sliding_window", "tri_shape", "dilated", "prefix_lm", "grid", "ladder"]) {
      const { launches } = launchesOf(name, { qLen: 1, kvLen: 1 }, name === "grid" ? "bf16" : "f16");
      for (const { kernel } of launches) {
        const compiled = compileCuda(emitCuda(kernel), "sm_90");
        expect(compiled.compiler).toMatch(/^NVRTC /);
        expect(compiled.ptx).toContain(`.entry ${kernel.name}(`);
        const report = ptxasReport(compiled.ptx, "sm_90");
        expect(report.spillStores + report.spillLoads, `${name}: spills`).toBe(0);
      }
    }
  }, 120_000);

  it("reports a compile error with NVRTC's log as STP904", () => {
    const nvrtc = findNvrtc();
    if (!("compile" in nvrtc)) throw new Error("NVRTC was not found");
    let caught: unknown;
    try {
      nvrtc.compile('extern "C" __global__ void broken(float* x) { x[0] = undefined_name; }', "sm_80");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DiagnosticError);
    const [first] = (caught as DiagnosticError).diagnostics;
    expect(first?.code).toBe("STP904");
    expect(first?.message).toMatch(/NVRTC_ERROR_COMPILATION[\s\S]*undefined_name/);
  });
});

describe("the driver-API runtime against a stub libcuda", () => {
  it("opens the device with its name, capability and PTX target", () => {
    expect(context.description).toBe("Stipple libcuda stub (compute 9.0, sm_90 PTX, CUDA driver 13.0)");
    expect(context.arch).toBe("sm_90");
  });

  it("copies 16-bit words to the device and back unchanged", () => {
    const words = Uint16Array.from({ length: 1000 }, (_, at) => (at * 7919) & 0xffff);
    const pointer = context.driver.alloc(words.byteLength);
    context.driver.upload(pointer, words);
    const back = new Uint16Array(words.length);
    context.driver.download(pointer, back);
    context.driver.free(pointer);
    expect([...back]).toEqual([...words]);
  });

  it("launches each head group's kernel once, over its query tiles and heads, with the lengths and layer, and frees what it allocated", () => {
    const cases = [
      launchesOf("a_shape", { qLen: 100, kvLen: 300, heads: 4, kvHeads: 2 }, "f16"),
      launchesOf("grid", { qLen: 700, kvLen: 700 }, "bf16"),
      // duo: one kernel per group of heads (retrieval heads dense, streaming heads A-shape), layer 1.
      launchesOf("duo", { qLen: 64, kvLen: 200, heads: 4, kvHeads: 2, layers: 2 }, "f16", { retrieval: [[1, 0], [0, 1]] }, 1),
    ];
    for (const { launches, sizes } of cases) {
      stub.reset();
      const before = stub.liveAllocations();
      const D = 64;
      const result = runCudaAttention(context, launches, {
        q: new Float32Array(sizes.H * sizes.Q * D), k: new Float32Array(sizes.KVH * sizes.K * D), v: new Float32Array(sizes.KVH * sizes.K * D),
      }, sizes);
      expect(result.out.length).toBe(sizes.H * sizes.Q * D);
      expect(result.lse.length).toBe(sizes.H * sizes.Q);
      expect(stub.launchCount()).toBe(launches.length);
      launches.forEach((launch, at) => {
        expect(stub.launchKernel(at)).toBe(launch.kernel.name);
        expect(stub.launchShape(at)).toEqual([queryTileCount(launch.kernel, sizes.Q), 1, launch.heads.length, 128, 1, 1]);
        expect(stub.launchArgs(at).slice(6, 12)).toEqual([sizes.Q, sizes.K, sizes.H, sizes.KVH, sizes.L, launch.layer].map(BigInt));
      });
      expect(stub.liveAllocations()).toBe(before);
    }
    expect(stub.lastPtx()).toMatch(/\.entry \w+\(/);
  });

  it("gives a wide head dim's kernel its dynamic shared memory, raising its limit past 48 KiB first; narrow ones take none", () => {
    for (const [D, expected] of [[128, [0, 0]], [160, [(2 * 64 + 64) * (160 + 8) * 2, (2 * 64 + 64) * (160 + 8) * 2]], [224, [(2 * 64 + 64) * (224 + 8) * 2, (2 * 64 + 64) * (224 + 8) * 2]]] as const) {
      const binding = bindOrThrow(examplePattern("a_shape"), { qLen: 100, kvLen: 300, heads: 2, kvHeads: 1 });
      const launches = lowerAttention(binding, 0, { headDim: D, dtype: "bf16", ...cudaLowering });
      stub.reset();
      const { sizes } = binding;
      runCudaAttention(context, launches, { q: new Float32Array(sizes.H * sizes.Q * D), k: new Float32Array(sizes.KVH * sizes.K * D), v: new Float32Array(sizes.KVH * sizes.K * D) }, sizes);
      expect(stub.launchShared(0), `D ${D}`).toEqual(expected);
    }
  });

  it("runs a dynamic pattern's tile-index builder before its kernel, both given the packed inputs and the index", () => {
    const { launches, sizes } = launchesOf("block_sparse", { qLen: 300, kvLen: 2500, heads: 3, kvHeads: 1 }, "f16", {
      blocks: Array.from({ length: 3 }, (_, h) => Array.from({ length: 5 }, (_, r) => Array.from({ length: 40 }, (_, c) => ((r + c + h) % 3 === 0 ? 1 : 0)))),
    });
    const [launch] = launches;
    if (launch === undefined) throw new Error("no launch");
    stub.reset();
    const before = stub.liveAllocations();
    const D = 64;
    runCudaAttention(context, launches, { q: new Float32Array(sizes.H * sizes.Q * D), k: new Float32Array(sizes.KVH * sizes.K * D), v: new Float32Array(sizes.KVH * sizes.K * D) }, sizes, { splits: 1 });
    expect(stub.launchCount()).toBe(2);
    const lengths = [sizes.Q, sizes.K, sizes.H, sizes.KVH, sizes.L, 0].map(BigInt);
    // The builder: one thread per query tile and index word (5 tiles × 2 words of 40 key tiles), per head.
    expect(stub.launchKernel(0)).toBe(`${launch.kernel.name}_builder`);
    expect(stub.launchShape(0)).toEqual([1, 1, 3, 128, 1, 1]);
    const built = stub.launchArgs(0);
    expect(built.slice(3, 9)).toEqual(lengths);
    // The kernel: the same heads, packed inputs and index, after q, k, v, out, lse.
    expect(stub.launchKernel(1)).toBe(launch.kernel.name);
    expect(stub.launchShape(1)).toEqual([queryTileCount(launch.kernel, sizes.Q), 1, 3, 128, 1, 1]);
    const attended = stub.launchArgs(1);
    expect(attended.slice(5, 8)).toEqual(built.slice(0, 3));
    expect(attended.slice(8, 14)).toEqual(lengths);
    expect(stub.liveAllocations()).toBe(before);
  });

  it("dispatches the builder and the kernel apart when asked (the benchmark times each stage), timed by device events", () => {
    const { launches, sizes } = launchesOf("block_sparse", { qLen: 300, kvLen: 2500, heads: 3, kvHeads: 1 }, "f16", {
      blocks: Array.from({ length: 3 }, (_, h) => Array.from({ length: 5 }, (_, r) => Array.from({ length: 40 }, (_, c) => ((r + c + h) % 3 === 0 ? 1 : 0)))),
    });
    const [launch] = launches;
    if (launch === undefined) throw new Error("no launch");
    const D = 64;
    const buffers = new CudaAttentionBuffers(context, { q: new Float32Array(sizes.H * sizes.Q * D), k: new Float32Array(sizes.KVH * sizes.K * D), v: new Float32Array(sizes.KVH * sizes.K * D) }, sizes, launches);
    try {
      const kernels = (): string[] => Array.from({ length: stub.launchCount() }, (_, at) => stub.launchKernel(at));
      stub.reset();
      // One warm-up and 2 timed runs of each stage; the stub's events say 1.5 ms between them.
      expect(timeCudaAttention(context, launches, buffers, 2, { attend: false, splits: 1 })).toBe(0.75);
      expect(kernels()).toEqual(new Array(3).fill(`${launch.kernel.name}_builder`));
      stub.reset();
      timeCudaAttention(context, launches, buffers, 2, { build: false, splits: 1 });
      expect(kernels()).toEqual(new Array(3).fill(launch.kernel.name));
      // The kernel still reads the index the builder wrote (same pointer, after the packed inputs).
      const index = stub.launchArgs(0)[7];
      stub.reset();
      timeCudaAttention(context, launches, buffers, 0, { splits: 1 });
      expect(stub.launchArgs(0)[2]).toBe(index);
      expect(kernels()).toEqual([`${launch.kernel.name}_builder`, launch.kernel.name]);
    } finally {
      buffers.free();
    }
  });

  it("keeps an estimator's scratch between dispatches: estimating again allocates nothing", () => {
    const bound = bindPattern(examplePattern("vertical_slash"), { shape: { qLen: 300, kvLen: 300, heads: 2, kvHeads: 1 }, params: new Map(), inputs: new Map(), estimated: new Set(["vertical", "slash"]) });
    if (!bound.ok) throw new Error("does not bind");
    const launches = lowerAttention(bound.value, 0, { headDim: 64, dtype: "f16", ...cudaLowering });
    const [launch] = launches;
    if (launch === undefined) throw new Error("no launch");
    const before = stub.liveAllocations();
    const buffers = new CudaAttentionBuffers(context, { q: new Float32Array(2 * 300 * 64), k: new Float32Array(300 * 64), v: new Float32Array(300 * 64) }, bound.value.sizes, launches);
    const estimator = { kind: "verticalSlash", vertical: "vertical", slash: "slash", lastQ: 16, verticalSize: 8, slashSize: 8, firstColumns: 2, nearDiagonals: 2 } as const;
    try {
      dispatchCudaEstimator(context, estimator, launch, buffers);
      // From here any allocation fails (out of memory): the timed dispatches must reuse what the first made.
      process.env["STUB_FAIL_ALLOC_AT"] = "1";
      timeCudaWork(context, () => dispatchCudaEstimator(context, estimator, launch, buffers), 3);
    } finally {
      delete process.env["STUB_FAIL_ALLOC_AT"];
      buffers.free();
    }
    expect(stub.liveAllocations()).toBe(before);
  });

  it("estimates block top-k on the device before the builder and the kernel, and reads the chosen blocks back", () => {
    // Bound with `blocks` estimated: empty until the estimator writes them.
    const bound = bindPattern(examplePattern("block_sparse"), { shape: { qLen: 300, kvLen: 300, heads: 2, kvHeads: 1 }, params: new Map([["block", 64]]), inputs: new Map(), estimated: new Set(["blocks"]) });
    if (!bound.ok) throw new Error("does not bind");
    const binding = bound.value;
    const launches = lowerAttention(binding, 0, { headDim: 64, dtype: "f16", ...cudaLowering });
    const D = 64;
    stub.reset();
    const before = stub.liveAllocations();
    const estimator = { kind: "blockTopK", blocks: "blocks", block: 64, topK: 2 } as const;
    const result = runCudaEstimatedAttention(context, estimator, launches, { q: new Float32Array(2 * 300 * D), k: new Float32Array(300 * D), v: new Float32Array(300 * D) }, binding.sizes, { splits: 1 });
    expect(Array.from({ length: stub.launchCount() }, (_, at) => stub.launchKernel(at))).toEqual([
      "stipple_block_pool_f16", "stipple_block_scores_f16", "stipple_clear_input_f16", "stipple_block_select_f16", "block_sparse_sparse_builder", "block_sparse_sparse",
    ]);
    // Pool over max(row, col) blocks × D threads and max(H, KVH) heads; scores over 5 × 5 blocks per head;
    // the shared selection, a block of 256 per query block (5) and head.
    expect(stub.launchShape(0)).toEqual([3, 1, 2, 128, 1, 1]);
    expect(stub.launchShape(1)).toEqual([1, 1, 2, 128, 1, 1]);
    expect(stub.launchShape(3)).toEqual([5, 1, 2, 256, 1, 1]);
    // The select writes into the packed inputs the builder and the kernel read.
    expect(stub.launchArgs(3)[1]).toBe(stub.launchArgs(4)[1]);
    expect(stub.launchArgs(3)[1]).toBe(stub.launchArgs(5)[6]);
    // The stub runs nothing: the blocks read back are the bound (empty) ones, in --input's shape.
    expect(result.inputs["blocks"]).toEqual([0, 1].map(() => Array.from({ length: 5 }, () => new Array<number>(5).fill(0))));
    expect(stub.liveAllocations()).toBe(before);
  });

  it("estimates vertical-slash on the device (the logits' tiles twice around the rows' stats, column and offset scores, two selections) before the builder and the kernel", () => {
    const bound = bindPattern(examplePattern("vertical_slash"), { shape: { qLen: 300, kvLen: 300, heads: 2, kvHeads: 1 }, params: new Map(), inputs: new Map(), estimated: new Set(["vertical", "slash"]) });
    if (!bound.ok) throw new Error("does not bind");
    const binding = bound.value;
    const launches = lowerAttention(binding, 0, { headDim: 64, dtype: "f16", ...cudaLowering });
    const D = 64;
    stub.reset();
    const before = stub.liveAllocations();
    const estimator = { kind: "verticalSlash", vertical: "vertical", slash: "slash", lastQ: 16, verticalSize: 8, slashSize: 8, firstColumns: 2, nearDiagonals: 2 } as const;
    const result = runCudaEstimatedAttention(context, estimator, launches, { q: new Float32Array(2 * 300 * D), k: new Float32Array(300 * D), v: new Float32Array(300 * D) }, binding.sizes, { splits: 1 });
    const names = Array.from({ length: stub.launchCount() }, (_, at) => stub.launchKernel(at));
    expect(names).toEqual([
      "stipple_vs_tiles_f16_d64", "stipple_vs_stats_f16_d64", "stipple_vs_tiles_f16_d64", "stipple_vs_scores_f16_d64",
      "stipple_vs_clear_f16_d64", "stipple_vs_select_f16_d64", "stipple_vs_clear_f16_d64", "stipple_vs_select_f16_d64",
      "vertical_slash_sparse_builder", "vertical_slash_sparse",
    ]);
    // Tiles: a block per 64 keys (5 for 300), 64 last rows (1 for 16) and head, pass 0 then 1; stats: a block
    // per last row and head, reading what pass 0 wrote, for pass 1.
    expect(stub.launchShape(0)).toEqual([5, 1, 2, 128, 1, 1]);
    expect(stub.launchArgs(0).at(-1)).toBe(0n);
    expect(stub.launchArgs(2).at(-1)).toBe(1n);
    expect(stub.launchShape(1)).toEqual([16, 1, 2, 128, 1, 1]);
    expect(stub.launchArgs(1)[0]).toBe(stub.launchArgs(0)[2]);
    expect(stub.launchArgs(1)[1]).toBe(stub.launchArgs(2)[3]);
    // Scores: a thread per key (3 blocks of 128) and head, from pass 1's column and diagonal sums.
    expect(stub.launchShape(3)).toEqual([3, 1, 2, 128, 1, 1]);
    expect(stub.launchArgs(3).slice(0, 2)).toEqual(stub.launchArgs(2).slice(4, 6));
    // The selections: one block of 256 per head, writing into the packed inputs the builder and the kernel read.
    expect(stub.launchShape(5)).toEqual([1, 1, 2, 256, 1, 1]);
    expect(stub.launchArgs(5)[1]).toBe(stub.launchArgs(8)[1]);
    expect(stub.launchArgs(7)[1]).toBe(stub.launchArgs(9)[6]);
    expect(result.inputs["vertical"]).toEqual([[], []]);
    expect(stub.liveAllocations()).toBe(before);
  });

  it("sizes vertical-slash's scratch to a chunk of heads, never H × last_q × K at long contexts", () => {
    // CUDA keeps no probabilities: 64 last rows of 1M keys take 28 MiB a head ((max, sum) per row and key
    // tile, column sums, diagonal sums as doubles), so all 32 heads go in one pass within 1 GiB.
    expect(verticalSlashScratchCuda(64, 2 ** 20)).toEqual({ parts: 2 * 64 * 16384, stats: 128, columns: 2 ** 20, diagonals: 2 * 16384 * 128, tiles: 16384, rowTiles: 1 });
    expect(verticalSlashHeadChunkCuda(32, 64, 2 ** 20)).toBe(32);
    expect(verticalSlashScratchCuda(100, 300)).toMatchObject({ tiles: 5, rowTiles: 2, columns: 600 });
    // A head larger than the budget runs alone.
    expect(verticalSlashHeadChunkCuda(8, 64, 2 ** 26)).toBe(1);
    for (const [heads, keys] of [[32, 2 ** 22], [7, 3 << 22], [1, 100]] as const) {
      const s = verticalSlashScratchCuda(64, keys);
      expect(4 * verticalSlashHeadChunkCuda(heads, 64, keys) * (s.parts + s.stats + s.columns + s.diagonals)).toBeLessThanOrEqual(Math.max(verticalSlashScratchBytes, 4 * (s.parts + s.stats + s.columns + s.diagonals)));
    }
    // WebGPU's rule keeps the probabilities: 64 rows of 1M keys are 256 MiB a head, 4 heads a pass within
    // 1 GiB; a head past the device's largest buffer is a coded error.
    expect(verticalSlashHeadChunk(32, 64, 2 ** 20, 2 ** 30)).toBe(4);
    expect(verticalSlashHeadChunk(32, 64, 8192, 2 ** 30)).toBe(32);
    expect(() => verticalSlashHeadChunk(8, 64, 2 ** 23, 2 ** 30)).toThrow(/STP317: the vertical-slash estimator needs 2048\.0 MiB of probabilities a head/);
  });

  it("runs XAttention's masses on tensor cores with no scores scratch, and on CUDA cores in chunks of query blocks, never H × Q / S × K / S at long contexts", () => {
    // 128k tokens, 32 heads, block 128, stride 8 (16 cells a block): tensor cores, a block per 64 cell rows.
    const tensor = xattentionScratch({ Q: 2 ** 17, K: 2 ** 17, H: 32 }, 128, 8, 128);
    expect(tensor.mass).toEqual({ kind: "tensorCores", rowTiles: 256 });
    expect(tensor.keys).toBe(32 * 1024 * 1024);
    // Blocks of more than 64 cells: CUDA cores. Block 1024, stride 8, D 128 (8 cell rows staged): 16 MiB of
    // scores a query block, so 16 blocks a launch within 256 MiB.
    const cores = xattentionScratch({ Q: 2 ** 17, K: 2 ** 17, H: 32 }, 1024, 8, 128);
    if (cores.mass.kind !== "cudaCores") throw new Error("blocks of 128 cells run on CUDA cores");
    expect(cores.mass.chunk).toBe(16);
    expect(4 * cores.mass.scores).toBeLessThanOrEqual(xattentionScratchBytesCuda);
    // Short contexts take every query block in one launch.
    expect(xattentionScratch({ Q: 3000, K: 3000, H: 2 }, 520, 8, 64).mass).toMatchObject({ kind: "cudaCores", chunk: 6 });
    // Odd block sizes: whole query blocks a row tile (5 cells a block: 60 cell rows a tile).
    expect(xattentionScratch({ Q: 300, K: 300, H: 2 }, 20, 4, 64).mass).toEqual({ kind: "tensorCores", rowTiles: 2 });
  });

  it("estimates XAttention on the device (masses and sizes, then a selection bounded by the sizes) before the builder and the kernel", () => {
    const bound = bindPattern(examplePattern("block_sparse"), { shape: { qLen: 300, kvLen: 300, heads: 2, kvHeads: 1 }, params: new Map([["block", 64]]), inputs: new Map(), estimated: new Set(["blocks"]) });
    if (!bound.ok) throw new Error("does not bind");
    const launches = lowerAttention(bound.value, 0, { headDim: 64, dtype: "bf16", ...cudaLowering });
    stub.reset();
    const before = stub.liveAllocations();
    const estimator = { kind: "xattention", blocks: "blocks", block: 64, stride: 8, threshold: 0.9 } as const;
    runCudaEstimatedAttention(context, estimator, launches, { q: new Float32Array(2 * 300 * 64), k: new Float32Array(300 * 64), v: new Float32Array(300 * 64) }, bound.value.sizes, { splits: 1 });
    expect(Array.from({ length: stub.launchCount() }, (_, at) => stub.launchKernel(at))).toEqual([
      "stipple_xa_tensor_mass_bf16_d64_s8", "stipple_xa_limits", "stipple_xa_clear", "stipple_xa_select", "block_sparse_sparse_builder", "block_sparse_sparse",
    ]);
    // The masses: a block per 64 cell rows (38 here) and head; the sizes and the selection: a block per query block (5 of 64 rows) and head.
    expect(stub.launchShape(0)).toEqual([1, 1, 2, 128, 1, 1]);
    expect(stub.launchShape(1)).toEqual([5, 1, 2, 128, 1, 1]);
    expect(stub.launchShape(3)).toEqual([5, 1, 2, 256, 1, 1]);
    // The sizes read the masses; the select reads the keys and sizes the sizes kernel wrote, and writes the
    // packed inputs the builder reads.
    expect(stub.launchArgs(1)[0]).toBe(stub.launchArgs(0)[2]);
    expect(stub.launchArgs(3)[0]).toBe(stub.launchArgs(1)[0]);
    expect(stub.launchArgs(3)[2]).toBe(stub.launchArgs(1)[1]);
    expect(stub.launchArgs(3)[1]).toBe(stub.launchArgs(4)[1]);
    expect(stub.liveAllocations()).toBe(before);
  });

  it("splits decode over the key tiles (split-K) into partials, then combines them into out and lse", () => {
    // One query row, 20k keys, 4 heads: 4 blocks on the stub's 132 multiprocessors, so auto splits.
    const { launches, sizes } = launchesOf("sliding_window", { qLen: 1, kvLen: 20000, heads: 4, kvHeads: 2 }, "f16");
    const [launch] = launches;
    if (launch === undefined) throw new Error("no launch");
    const D = 64;
    const tensors = { q: new Float32Array(4 * D), k: new Float32Array(2 * 20000 * D), v: new Float32Array(2 * 20000 * D) };
    stub.reset();
    const before = stub.liveAllocations();
    runCudaAttention(context, launches, tensors, sizes, { guard: true });
    expect(stub.launchCount()).toBe(2);
    const [, splits = 0] = stub.launchShape(0);
    expect(splits).toBe(splitsFor(launch.kernel, sizes, 4, 2 * 132));
    expect(splits).toBeGreaterThan(1);
    const attended = stub.launchArgs(0);
    expect(attended[12], "the split count, last").toBe(BigInt(splits));
    expect(stub.launchKernel(1)).toBe("stipple_split_combine_d64");
    expect(stub.launchShape(1)).toEqual([1, 1, 4, 128, 1, 1]);
    const combined = stub.launchArgs(1);
    expect(combined.slice(0, 2), "the combine reads the partials the kernel wrote").toEqual(attended.slice(3, 5));
    expect(combined.slice(2, 4), "and writes the outputs").not.toEqual(attended.slice(3, 5));
    expect(combined.slice(5, 8)).toEqual([1n, 4n, BigInt(splits)]);
    expect(stub.liveAllocations()).toBe(before);
    // A forced single split: no partials, no combine.
    stub.reset();
    runCudaAttention(context, launches, tensors, sizes, { splits: 1 });
    expect(stub.launchCount()).toBe(1);
    expect(stub.launchShape(0)[1]).toBe(1);
  });

  it("guards the outputs: intact canaries pass, a write just before `out` fails the run", () => {
    const { launches, sizes } = launchesOf("sliding_window", { qLen: 70, kvLen: 70 }, "f16");
    const zeros = { q: new Float32Array(70 * 64), k: new Float32Array(70 * 64), v: new Float32Array(70 * 64) };
    const before = stub.liveAllocations();
    expect(runCudaAttention(context, launches, zeros, sizes, { guard: true }).out.length).toBe(70 * 64);
    process.env["STUB_WRITE_BEFORE_OUT"] = "1";
    try {
      expect(() => runCudaAttention(context, launches, zeros, sizes, { guard: true })).toThrow("bounds guard: the kernel wrote outside `out` (canary word 63 of the guarded buffer, in the leading canary)");
    } finally {
      delete process.env["STUB_WRITE_BEFORE_OUT"];
    }
    expect(stub.liveAllocations()).toBe(before);
  });

  it("reports running out of device memory as STP906 and frees what it had allocated", () => {
    const { launches, sizes } = launchesOf("sliding_window", { qLen: 70, kvLen: 70 }, "f16");
    const zeros = { q: new Float32Array(70 * 64), k: new Float32Array(70 * 64), v: new Float32Array(70 * 64) };
    const before = stub.liveAllocations();
    process.env["STUB_FAIL_ALLOC_AT"] = "3";
    let caught: unknown;
    try {
      runCudaAttention(context, launches, zeros, sizes);
    } catch (error) {
      caught = error;
    } finally {
      delete process.env["STUB_FAIL_ALLOC_AT"];
    }
    const [first] = (caught as DiagnosticError).diagnostics;
    expect(first?.code).toBe("STP906");
    expect(first?.message).toBe("cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory");
    expect(stub.liveAllocations()).toBe(before);
  });

  it("refuses a launch larger than the device's free memory (STP317) before allocating anything", () => {
    const { launches, sizes } = launchesOf("sliding_window", { qLen: 70, kvLen: 70 }, "f16");
    const zeros = { q: new Float32Array(70 * 64), k: new Float32Array(70 * 64), v: new Float32Array(70 * 64) };
    const before = stub.liveAllocations();
    process.env["STUB_FREE_MEMORY"] = "20000";
    try {
      expect(() => runCudaAttention(context, launches, zeros, sizes)).toThrow(/^STP317: this launch needs 0\.00 GiB of device memory; Stipple libcuda stub has 0\.00 GiB free of 16\.00 GiB/);
      expect(stub.liveAllocations()).toBe(before);
    } finally {
      delete process.env["STUB_FREE_MEMORY"];
    }
    expect(runCudaAttention(context, launches, zeros, sizes).out.length).toBe(70 * 64);
  });

  it("turns a failed PTX load into STP906 with the driver's error name and JIT log", () => {
    let caught: unknown;
    try {
      context.driver.loadModule("not ptx");
    } catch (error) {
      caught = error;
    }
    const [first] = (caught as DiagnosticError).diagnostics;
    expect(first?.code).toBe("STP906");
    expect(first?.message).toBe("cuModuleLoadDataEx: CUDA_ERROR_INVALID_PTX (218): a PTX JIT compilation failed\nptxas fatal: no entry in the module");
  });
});

describe("stipple run --backend cuda", () => {
  const tensors = (): string[] => {
    const dir = mkdtempSync(join(tmpdir(), "stipple-cuda-run-"));
    const file = (name: string, shape: number[]): string => {
      const path = join(dir, `${name}.npy`);
      writeFileSync(path, writeNpy(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, at) => Math.sin(at))));
      return path;
    };
    return ["--q", file("q", [2, 50, 64]), "--k", file("k", [1, 80, 64]), "--v", file("v", [1, 80, 64]), "--out", join(dir, "o.npy")];
  };

  it("says there is no device when cuInit finds none (a coded error, no stack trace)", async () => {
    const result = await runCli(["run", "examples/a_shape.stip", "--backend", "cuda", ...tensors()], { STIPPLE_LIBCUDA: stubPath, STUB_CUINIT_RESULT: "100" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("error[STP905]: the CUDA driver");
    expect(result.stderr).toContain("cuInit: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("says where it looked when there is no driver library", async () => {
    const result = await runCli(["run", "examples/a_shape.stip", "--backend", "cuda", ...tensors()], { STIPPLE_LIBCUDA: join(scratch, "missing.so") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("error[STP905]: no CUDA driver library (libcuda.so.1) was found; looked in STIPPLE_LIBCUDA=");
  });

  it("refuses what the CUDA kernel cannot do before it touches the driver", async () => {
    const result = await runCli(["run", "examples/a_shape.stip", "--backend", "cuda", "--block-m", "32", ...tensors()], { STIPPLE_LIBCUDA: join(scratch, "missing.so") });
    expect(result.stderr).toContain("error[STP902]: the CUDA kernel's tiles are fixed at 64 × 64");
  });

  it("--estimate: block top-k, vertical-slash and XAttention run through the stub (and report what they chose)", async () => {
    for (const [example, estimator] of [["block_sparse", "block_top_k"], ["vertical_slash", "vertical_slash"], ["xattention", "xattention"]] as const) {
      const estimated = await runCli(["run", `examples/${example}.stip`, "--backend", "cuda", "--estimate", "--json", ...tensors()], { STIPPLE_LIBCUDA: stubPath });
      expect(estimated.stderr, example).toBe("");
      expect(JSON.parse(estimated.stdout)).toMatchObject({ backend: "cuda", estimator: expect.stringContaining(estimator) as unknown });
    }
    // Stride 64 runs on tensor cores (2 cells a block of 128), which stage no stride's worth of query values;
    // with blocks of more than 64 cells it runs on CUDA cores, which stage more than shared memory takes:
    // refused before the driver is touched.
    const wide = join(scratch, "xattention-wide.stip");
    writeFileSync(wide, readFileSync("examples/xattention.stip", "utf8").replace("stride = 8", "stride = 64"));
    const tensorCores = await runCli(["run", wide, "--backend", "cuda", "--estimate", "--json", ...tensors()], { STIPPLE_LIBCUDA: stubPath });
    expect(tensorCores.stderr).toBe("");
    const refused = await runCli(["run", wide, "--backend", "cuda", "--estimate", "--param", "block=8192", ...tensors()], { STIPPLE_LIBCUDA: join(scratch, "missing.so") });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("error[STP314]: xattention stages stride × head dim = 4096 query values per workgroup (CUDA: block), more than 2048");
  });

  it("--check fails loudly when the kernel did not compute attention (the stub runs nothing)", async () => {
    const result = await runCli(["run", "examples/a_shape.stip", "--backend", "cuda", "--dtype", "bf16", "--check", "--json", ...tensors()], { STIPPLE_LIBCUDA: stubPath });
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ backend: "cuda", dtype: "bf16", check: "FAIL", adapter: "Stipple libcuda stub (compute 9.0, sm_90 PTX, CUDA driver 13.0)" });
  });
});
