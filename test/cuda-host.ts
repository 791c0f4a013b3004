import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queryTileCount, type KernelLaunch } from "../ir/kernel/kernel.js";
import type { Sizes } from "../ir/pattern/eval-int.js";
import { tileIndexWords } from "../ir/plan/tile-index.js";
import { blockTopKKernels, cudaEstimatorThreads, emitBlockTopKCuda } from "../backends/cuda/estimate.js";
import { emitVerticalSlashCuda, verticalSlashKernels, verticalSlashScratchCuda } from "../backends/cuda/estimate-vertical-slash.js";
import { cudaSelectThreads, orderKeyCuda, selectTopCuda } from "../backends/cuda/select-top.js";
import { emitXAttentionMassCuda, emitXAttentionSelectCuda, xattentionCellRowsCuda, xattentionMassKernels, xattentionSelectKernels, type XAttentionMassPlan } from "../backends/cuda/estimate-xattention.js";
import { emitXAttentionTensorMassCuda, xattentionTensorRowTiles } from "../backends/cuda/estimate-xattention-tensor.js";
import { checkCudaKernel, cudaDynamicSharedBytes, type CudaElement } from "../backends/cuda/schedule.js";
import { emitCuda } from "../backends/cuda/emit.js";
import { tensorCoreCuda } from "../backends/cuda/prelude.js";
import { combineName, cudaCombineThreads, emitSplitCombineCuda } from "../backends/cuda/split-combine.js";
import { builderName, cudaBuilderThreads, emitTileBuilderCuda } from "../backends/cuda/tile-builder.js";

/**
 * Runs generated CUDA programs that are plain C++ (the tile-index builder, the split-K combine, the
 * estimators) on the host, for machines without a GPU: with CUDA's qualifiers defined away and blockIdx /
 * threadIdx as globals, g++ compiles the very text nvcc gets, and a loop over the grid runs it. Programs
 * with barriers and shared memory run on threadedShim instead (below).
 * This tests the generated code's logic against host references; nvcc and ptxas check it compiles for the
 * device.
 */
const hostShim = `#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __launch_bounds__(...)
struct HostDim { unsigned x, y, z; };
static HostDim blockIdx, threadIdx;
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
// Threads run one after another here, so an atomic is a plain read-modify-write.
static inline unsigned atomicOr(unsigned* p, unsigned v) { const unsigned old = *p; *p |= v; return old; }
`;

/** The driver: reads lengths, heads and packed inputs from argv[1], runs the grid, writes the index to argv[2]. */
function hostMain(name: string): string {
  return `
static std::vector<unsigned> read_words(FILE* f, size_t n) {
  std::vector<unsigned> v(n);
  if (n > 0 && fread(v.data(), 4, n, f) != n) { fprintf(stderr, "short input\\n"); exit(2); }
  return v;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  FILE* in = fopen(argv[1], "rb");
  if (in == nullptr) return 2;
  // Header: Q, K, H, KVH, L, layer, heads served, aux words, index words per head, builder blocks.
  std::vector<unsigned> header = read_words(in, 10);
  std::vector<unsigned> heads = read_words(in, header[6]);
  std::vector<unsigned> aux = read_words(in, header[7]);
  fclose(in);
  std::vector<unsigned> index((size_t)header[6] * header[8], 0xdeadbeefu);
  for (blockIdx.z = 0; blockIdx.z < header[6]; blockIdx.z++) {
    for (blockIdx.x = 0; blockIdx.x < header[9]; blockIdx.x++) {
      for (threadIdx.x = 0; threadIdx.x < ${cudaBuilderThreads}; threadIdx.x++) {
        ${name}(reinterpret_cast<const int*>(heads.data()), aux.data(), index.data(), (int)header[0], (int)header[1], (int)header[2], (int)header[3], (int)header[4], (int)header[5]);
      }
    }
  }
  FILE* out = fopen(argv[2], "wb");
  if (out == nullptr || fwrite(index.data(), 4, index.size(), out) != index.size()) return 2;
  fclose(out);
  return 0;
}
`;
}

export interface HostBuilder {
  /** The tile index of a launch, [launch head][query tile][touched | full], as the device builder writes it. */
  run(launch: KernelLaunch, sizes: Sizes): Uint32Array;
}

/**
 * For kernels with barriers and shared memory (the estimators' block reductions and selections): a block's
 * threads are fibers (ucontext) on one host thread, run round-robin: each runs until its next __syncthreads
 * (a switch back to the scheduler) or its end, and no fiber passes a barrier before every other has reached
 * it. A __shared__ array is a static local, one per kernel, which the block's fibers share (one block at a
 * time). Switching fibers costs far less than waking OS threads at a std::barrier: these tests make hundreds
 * of thousands of barriers. launch_grid(grid, threads, call) runs a launch on fibers; launch_plain runs a
 * kernel without barriers thread after thread (cheaper still; a barrier there aborts).
 */
const threadedShim = `#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <ucontext.h>
#include <vector>
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __launch_bounds__(...)
#define __shared__ static
struct HostDim { unsigned x, y, z; };
static HostDim blockIdx, threadIdx;
static ucontext_t scheduler;
static std::vector<ucontext_t> fibers;
static const std::function<void()>* fiber_body = nullptr;
static bool in_fibers = false;
static inline void __syncthreads() {
  if (!in_fibers) { fprintf(stderr, "__syncthreads in a kernel launched without fibers\\n"); abort(); }
  swapcontext(&fibers[threadIdx.x], &scheduler);
}
static inline unsigned __float_as_uint(float x) { unsigned u; std::memcpy(&u, &x, 4); return u; }
static inline float __uint_as_float(unsigned u) { float x; std::memcpy(&x, &u, 4); return x; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
// One host thread runs every fiber: an atomic is a plain read-modify-write.
static inline unsigned atomicOr(unsigned* p, unsigned v) { const unsigned old = *p; *p |= v; return old; }
static inline unsigned atomicAdd(unsigned* p, unsigned v) { const unsigned old = *p; *p += v; return old; }
static bool fiber_finished = false;
// Kernels whose threads all reach every barrier (the attention kernel's warp collectives need it) check it.
static bool strict_barriers = false;
static void fiber_main() {
  (*fiber_body)();
  fiber_finished = true;
}
// Kernels without barriers: their threads one after another (a barrier there aborts).
[[maybe_unused]] static void launch_plain(HostDim grid, unsigned threads, const std::function<void()>& call) {
  for (blockIdx.z = 0; blockIdx.z < grid.z; blockIdx.z++)
    for (blockIdx.y = 0; blockIdx.y < grid.y; blockIdx.y++)
      for (blockIdx.x = 0; blockIdx.x < grid.x; blockIdx.x++)
        for (unsigned t = 0; t < threads; t++) {
          threadIdx = HostDim{t, 0, 0};
          call();
        }
}
[[maybe_unused]] static void launch_grid(HostDim grid, unsigned threads, const std::function<void()>& call) {
  in_fibers = true;
  const size_t stack = 256 * 1024;
  std::vector<char> stacks(stack * threads);
  std::vector<bool> done(threads);
  fibers.assign(threads, ucontext_t{});
  fiber_body = &call;
  for (blockIdx.z = 0; blockIdx.z < grid.z; blockIdx.z++)
    for (blockIdx.y = 0; blockIdx.y < grid.y; blockIdx.y++)
      for (blockIdx.x = 0; blockIdx.x < grid.x; blockIdx.x++) {
        for (unsigned t = 0; t < threads; t++) {
          getcontext(&fibers[t]);
          fibers[t].uc_stack.ss_sp = stacks.data() + t * stack;
          fibers[t].uc_stack.ss_size = stack;
          // A finished fiber returns to the scheduler, which marks it done.
          fibers[t].uc_link = &scheduler;
          makecontext(&fibers[t], fiber_main, 0);
          done[t] = false;
        }
        // Rounds: every fiber still running goes on to its next barrier (or its end). A fiber that ends
        // while others wait at a barrier is a barrier the block did not reach together: an error.
        for (bool running = true; running;) {
          running = false;
          bool ended = false;
          for (unsigned t = 0; t < threads; t++) {
            if (done[t]) continue;
            threadIdx = HostDim{t, 0, 0};
            fiber_finished = false;
            swapcontext(&scheduler, &fibers[t]);
            done[t] = fiber_finished;
            ended = ended || fiber_finished;
            running = running || !fiber_finished;
          }
          if (ended && running && strict_barriers) { fprintf(stderr, "block (%u, %u, %u): some threads ended while others wait at a barrier\\n", blockIdx.x, blockIdx.y, blockIdx.z); abort(); }
        }
      }
  in_fibers = false;
}
`;

/** CUDA vector types and built-ins the attention kernel and the vertical-slash and XAttention estimators use beyond threadedShim's. */
const vectorShim = `#define __align__(n) __attribute__((aligned(n)))
struct uint4 { unsigned x, y, z, w; };
static inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }
struct float2 { float x, y; };
static inline float2 make_float2(float x, float y) { return float2{x, y}; }
static inline int __ffs(unsigned x) { return __builtin_ffs((int)x); }
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline float __int_as_float(int i) { float x; std::memcpy(&x, &i, 4); return x; }
`;

/** C++ for the blocks of cudaEstimatorThreads that cover `n` threads (n is C++ text). */
const estimatorBlocks = (n: string): string => `(unsigned)((${n} + ${cudaEstimatorThreads} - 1) / ${cudaEstimatorThreads})`;

/** Compiles generated CUDA with its host driver for the host (g++, warnings as errors); returns the binary's directory and path. */
function compileForHost(name: string, code: string, shim = hostShim): { dir: string; binary: string } {
  const dir = mkdtempSync(join(tmpdir(), `stipple-host-${name}-`));
  const source = join(dir, `${name}.cpp`);
  const binary = join(dir, name);
  writeFileSync(source, `${shim}${code}`);
  execFileSync("g++", ["-std=c++20", "-pthread", "-O1", "-Wall", "-Werror", "-Wno-unused-variable", "-Wno-unknown-pragmas", "-o", binary, source], { stdio: ["ignore", "ignore", "pipe"] });
  return { dir, binary };
}

/** Compiles the builder of `launch`'s kernel for the host with g++ (the kernel text, not the sizes, matters). */
export function hostBuilder(launch: KernelLaunch): HostBuilder {
  const { dir, binary } = compileForHost("builder", `${emitTileBuilderCuda(launch.kernel)}${hostMain(builderName(launch.kernel))}`);
  return {
    run: (at, sizes) => {
      const perHead = tileIndexWords(sizes, at.kernel);
      const tiles = Math.ceil(sizes.Q / at.kernel.blockM);
      const words = Math.ceil(Math.ceil(sizes.K / at.kernel.blockN) / 32);
      const aux = at.aux?.words ?? new Uint32Array(0);
      const header = [sizes.Q, sizes.K, sizes.H, sizes.KVH, sizes.L, at.layer, at.heads.length, aux.length, perHead, Math.ceil((tiles * words) / cudaBuilderThreads)];
      const input = join(dir, "input.bin"), output = join(dir, "index.bin");
      writeFileSync(input, Buffer.from(Uint32Array.from([...header, ...at.heads, ...aux]).buffer));
      execFileSync(binary, [input, output], { stdio: ["ignore", "ignore", "pipe"] });
      const bytes = readFileSync(output);
      return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    },
  };
}

/** The split-K combine kernel run on the host: partials in ([splits, H, Q, D], [splits, H, Q]), merged out. */
export interface HostCombine {
  run(partOut: Float32Array, partLse: Float32Array, shape: { splits: number; heads: number; q: number }, headList: readonly number[]): { out: Float32Array; lse: Float32Array };
}

export function hostCombine(headDim: number): HostCombine {
  const driver = `
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  FILE* in = fopen(argv[1], "rb");
  if (in == nullptr) return 2;
  int header[4];  // splits, heads, Q, heads served
  if (fread(header, 4, 4, in) != 4) return 2;
  const int splits = header[0], heads = header[1], q = header[2], served = header[3];
  std::vector<int> list(served);
  std::vector<float> part_out((size_t)splits * heads * q * D), part_lse((size_t)splits * heads * q);
  std::vector<float> out((size_t)heads * q * D, 7.0f), lse((size_t)heads * q, 7.0f);
  if (fread(list.data(), 4, served, in) != (size_t)served || fread(part_out.data(), 4, part_out.size(), in) != part_out.size() || fread(part_lse.data(), 4, part_lse.size(), in) != part_lse.size()) return 2;
  fclose(in);
  for (blockIdx.z = 0; blockIdx.z < (unsigned)served; blockIdx.z++)
    for (blockIdx.x = 0; blockIdx.x < (unsigned)((q + ${cudaCombineThreads} - 1) / ${cudaCombineThreads}); blockIdx.x++)
      for (threadIdx.x = 0; threadIdx.x < ${cudaCombineThreads}; threadIdx.x++)
        ${combineName(headDim)}(part_out.data(), part_lse.data(), out.data(), lse.data(), list.data(), q, heads, splits);
  FILE* result = fopen(argv[2], "wb");
  if (result == nullptr || fwrite(out.data(), 4, out.size(), result) != out.size() || fwrite(lse.data(), 4, lse.size(), result) != lse.size()) return 2;
  fclose(result);
  return 0;
}
`;
  const { dir, binary } = compileForHost("combine", `${emitSplitCombineCuda(headDim)}${driver}`);
  return {
    run: (partOut, partLse, { splits, heads, q }, headList) => {
      const input = join(dir, "input.bin"), output = join(dir, "output.bin");
      const header = Buffer.from(Int32Array.from([splits, heads, q, headList.length, ...headList]).buffer);
      writeFileSync(input, Buffer.concat([header, Buffer.from(partOut.buffer, partOut.byteOffset, partOut.byteLength), Buffer.from(partLse.buffer, partLse.byteOffset, partLse.byteLength)]));
      execFileSync(binary, [input, output], { stdio: ["ignore", "ignore", "pipe"] });
      const bytes = readFileSync(output);
      const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      return { out: all.slice(0, heads * q * headDim), lse: all.slice(heads * q * headDim) };
    },
  };
}

/**
 * The shared top-n selection kernel alone on the host: `keys` are order keys [head][problem][count]; the
 * chosen entries come back as bits [head][problem · count + at], as they land in a packed input's leaves.
 */
export interface HostSelectTop {
  run(keys: Uint32Array, shape: { heads: number; problems: number; count: number }, n: number, limits?: Uint32Array): Uint32Array;
}

export function hostSelectTop(): HostSelectTop {
  const driver = `
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  FILE* in = fopen(argv[1], "rb");
  if (in == nullptr) return 2;
  unsigned h[5];  // heads, problems, count, n, has limits
  if (fread(h, 4, 5, in) != 5) return 2;
  const unsigned heads = h[0], problems = h[1], count = h[2];
  std::vector<unsigned> keys((size_t)heads * problems * count), limits(h[4] != 0 ? heads * problems : 0);
  if (fread(keys.data(), 4, keys.size(), in) != keys.size() || fread(limits.data(), 4, limits.size(), in) != limits.size()) return 2;
  fclose(in);
  // A packed input with one slot: its directory entry (leaf offset, words a head), then the heads' leaves.
  const unsigned words = (problems * count + 31) / 32;
  std::vector<unsigned> aux(4 + (size_t)words * heads, 0u);
  aux[0] = 4;
  aux[1] = words;
  launch_grid({problems, 1, heads}, ${cudaSelectThreads}, [&] { stipple_select(keys.data(), aux.data(), limits.empty() ? nullptr : limits.data(), count, h[3], 0u, problems); });
  FILE* out = fopen(argv[2], "wb");
  if (out == nullptr || fwrite(aux.data() + 4, 4, aux.size() - 4, out) != aux.size() - 4) return 2;
  fclose(out);
  return 0;
}
`;
  const { dir, binary } = compileForHost("select-top", `${orderKeyCuda}${selectTopCuda("stipple_select")}${driver}`, threadedShim);
  return {
    run: (keys, { heads, problems, count }, n, limits) => {
      const input = join(dir, "input.bin"), output = join(dir, "bits.bin");
      const header = Uint32Array.of(heads, problems, count, n >>> 0, limits === undefined ? 0 : 1);
      writeFileSync(input, Buffer.concat([header, keys, limits ?? new Uint32Array(0)].map((words) => Buffer.from(words.buffer, words.byteOffset, words.byteLength))));
      execFileSync(binary, [input, output], { stdio: ["ignore", "ignore", "pipe"] });
      const bytes = readFileSync(output);
      return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    },
  };
}

/** The block top-k estimator's four kernels run on the host, in order, writing into a launch's packed inputs. */
export interface HostBlockTopK {
  run(q: Uint16Array, k: Uint16Array, aux: Uint32Array, shape: { Q: number; K: number; H: number; KVH: number; D: number }, setting: { block: number; topK: number; slot: number }): Uint32Array;
}

export function hostBlockTopK(element: CudaElement): HostBlockTopK {
  const names = blockTopKKernels(element);
  const driver = `
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  FILE* in = fopen(argv[1], "rb");
  if (in == nullptr) return 2;
  int h[11];  // Q, K, H, KVH, D, block, top_k, slot, q words, k words, aux words
  if (fread(h, 4, 11, in) != 11) return 2;
  const int Q = h[0], K = h[1], H = h[2], KVH = h[3], D = h[4], block = h[5], top_k = h[6], slot = h[7];
  std::vector<unsigned short> q(h[8]), k(h[9]);
  std::vector<unsigned> aux(h[10]);
  if (fread(q.data(), 2, q.size(), in) != q.size() || fread(k.data(), 2, k.size(), in) != k.size() || fread(aux.data(), 4, aux.size(), in) != aux.size()) return 2;
  fclose(in);
  const int rb = (Q + block - 1) / block, cb = (K + block - 1) / block;
  std::vector<float> pooled((size_t)(H * rb + KVH * cb) * D);
  std::vector<unsigned> keys((size_t)H * rb * cb);
  const int leaf_words = (int)aux[4 * slot + 1];
  launch_plain({${estimatorBlocks("(rb > cb ? rb : cb) * D")}, 1, (unsigned)(H > KVH ? H : KVH)}, ${cudaEstimatorThreads}, [&] { ${names.pool}(q.data(), k.data(), pooled.data(), Q, K, H, KVH, block, D, rb, cb); });
  launch_plain({${estimatorBlocks("rb * cb")}, 1, (unsigned)H}, ${cudaEstimatorThreads}, [&] { ${names.scores}(pooled.data(), keys.data(), Q, K, H, KVH, block, D, rb, cb); });
  launch_plain({${estimatorBlocks("leaf_words * H")}, 1, 1}, ${cudaEstimatorThreads}, [&] { ${names.clear}(aux.data(), slot, H); });
  launch_grid({(unsigned)rb, 1, (unsigned)H}, ${cudaSelectThreads}, [&] { ${names.select}(keys.data(), aux.data(), nullptr, (unsigned)cb, (unsigned)top_k, (unsigned)slot, (unsigned)rb); });
  FILE* out = fopen(argv[2], "wb");
  if (out == nullptr || fwrite(aux.data(), 4, aux.size(), out) != aux.size()) return 2;
  fclose(out);
  return 0;
}
`;
  const { dir, binary } = compileForHost(`block-top-k-${element}`, `${emitBlockTopKCuda(element)}${driver}`, threadedShim);
  return {
    run: (q, k, aux, { Q, K, H, KVH, D }, { block, topK, slot }) => {
      const input = join(dir, "input.bin"), output = join(dir, "aux.bin");
      const header = Int32Array.from([Q, K, H, KVH, D, block, topK, slot, q.length, k.length, aux.length]);
      writeFileSync(input, Buffer.concat([Buffer.from(header.buffer), Buffer.from(q.buffer, q.byteOffset, q.byteLength), Buffer.from(k.buffer, k.byteOffset, k.byteLength), Buffer.from(aux.buffer, aux.byteOffset, aux.byteLength)]));
      execFileSync(binary, [input, output], { stdio: ["ignore", "ignore", "pipe"] });
      const bytes = readFileSync(output);
      return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    },
  };
}

/** The vertical-slash estimator's kernels run on the host, in order (threads and barriers real), writing into a launch's packed inputs. */
export interface HostVerticalSlash {
  run(q: Uint16Array, k: Uint16Array, aux: Uint32Array, shape: { Q: number; K: number; H: number; KVH: number }, setting: VerticalSlashSetting): Uint32Array;
}

export interface VerticalSlashSetting {
  readonly rows: number;
  readonly scale: number;
  readonly firstColumns: number;
  readonly nearDiagonals: number;
  readonly vertical: number;
  readonly slash: number;
  readonly verticalSlot: number;
  readonly slashSlot: number;
  /** Heads a pass over the scratch holds (the runtime's verticalSlashHeadChunkCuda; default all). */
  readonly chunk?: number;
}

export function hostVerticalSlash(element: CudaElement, headDim: number): HostVerticalSlash {
  const names = verticalSlashKernels(element, headDim);
  const driver = `
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  FILE* in = fopen(argv[1], "rb");
  if (in == nullptr) return 2;
  int h[17];  // Q, K, H, KVH, rows, first columns, near diagonals, vertical n, slash n, vertical slot, slash slot, q words, k words, aux words, heads a chunk, key tiles, row tiles
  float scale;
  if (fread(h, 4, 17, in) != 17 || fread(&scale, 4, 1, in) != 1) return 2;
  const int Q = h[0], K = h[1], H = h[2], KVH = h[3], rows = h[4];
  std::vector<unsigned short> q(h[11]), k(h[12]);
  std::vector<unsigned> aux(h[13]);
  if (fread(q.data(), 2, q.size(), in) != q.size() || fread(k.data(), 2, k.size(), in) != k.size() || fread(aux.data(), 4, aux.size(), in) != aux.size()) return 2;
  fclose(in);
  const int chunk = h[14];
  // The runtime's tile counts (verticalSlashScratchCuda).
  const int tiles = h[15], row_tiles = h[16];
  // Scratch starts as garbage: a sum the kernels read before writing shows.
  std::vector<float> parts((size_t)chunk * rows * tiles * 2, -7.0f), stats((size_t)chunk * rows * 2, -7.0f);
  std::vector<float> column_parts((size_t)chunk * row_tiles * K, -7.0f);
  std::vector<double> diagonal_parts((size_t)chunk * row_tiles * tiles * 128, -7.0);
  std::vector<unsigned> columns((size_t)H * K), diagonals((size_t)H * K);
  for (int head0 = 0; head0 < H; head0 += chunk) {
    const unsigned heads = (unsigned)(H - head0 < chunk ? H - head0 : chunk);
    for (int pass = 0; pass < 2; pass++) {
      strict_barriers = true;
      launch_grid({(unsigned)tiles, (unsigned)row_tiles, heads}, ${cudaEstimatorThreads}, [&] { ${names.tiles}(q.data(), k.data(), parts.data(), stats.data(), column_parts.data(), diagonal_parts.data(), Q, K, H, KVH, rows, tiles, row_tiles, scale, head0, pass); });
      check_copies_landed();
      strict_barriers = false;
      if (pass == 0) launch_grid({(unsigned)rows, 1, heads}, ${cudaEstimatorThreads}, [&] { ${names.stats}(parts.data(), stats.data(), rows, tiles); });
    }
    launch_plain({${estimatorBlocks("K")}, 1, heads}, ${cudaEstimatorThreads}, [&] { ${names.scores}(column_parts.data(), diagonal_parts.data(), columns.data(), diagonals.data(), K, rows, tiles, row_tiles, h[5], h[6], head0); });
  }
  for (int pick = 0; pick < 2; pick++) {
    const int slot = h[9 + pick];
    const int words = (int)aux[4 * slot + 1] * H;
    launch_plain({${estimatorBlocks("words")}, 1, 1}, ${cudaEstimatorThreads}, [&] { ${names.clear}(aux.data(), slot, H); });
    launch_grid({1, 1, (unsigned)H}, ${cudaSelectThreads}, [&] { ${names.select}(pick == 0 ? columns.data() : diagonals.data(), aux.data(), nullptr, (unsigned)K, (unsigned)h[7 + pick], (unsigned)slot, 1u); });
  }
  FILE* out = fopen(argv[2], "wb");
  if (out == nullptr || fwrite(aux.data(), 4, aux.size(), out) != aux.size()) return 2;
  fclose(out);
  return 0;
}
`;
  const { dir, binary } = compileForHost(`vertical-slash-${element}`, `${vectorShim}${withHostTensorCores(emitVerticalSlashCuda(element, headDim), element)}${driver}`, threadedShim);
  return {
    run: (q, k, aux, { Q, K, H, KVH }, setting) => {
      const input = join(dir, "input.bin"), output = join(dir, "aux.bin");
      const sizes = verticalSlashScratchCuda(setting.rows, K);
      const header = Int32Array.from([Q, K, H, KVH, setting.rows, setting.firstColumns, setting.nearDiagonals, setting.vertical, setting.slash, setting.verticalSlot, setting.slashSlot, q.length, k.length, aux.length, setting.chunk ?? H, sizes.tiles, sizes.rowTiles]);
      const scale = Float32Array.of(setting.scale);
      writeFileSync(input, Buffer.concat([Buffer.from(header.buffer), Buffer.from(scale.buffer), Buffer.from(q.buffer, q.byteOffset, q.byteLength), Buffer.from(k.buffer, k.byteOffset, k.byteLength), Buffer.from(aux.buffer, aux.byteOffset, aux.byteLength)]));
      execFileSync(binary, [input, output], { stdio: ["ignore", "ignore", "pipe"] });
      const bytes = readFileSync(output);
      return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    },
  };
}

/**
 * The XAttention estimator's kernels run on the host (mass and sizes, clear, select with the sizes), writing
 * into a launch's packed inputs (`words`); `keys`: the mass kernel's order keys [head][query block][key block].
 */
export interface HostXAttention {
  /** `chunk`: query blocks a CUDA-core mass launch serves (default all), as the runtime chunks them by its scratch. */
  run(q: Uint16Array, k: Uint16Array, aux: Uint32Array, shape: { Q: number; K: number; H: number; KVH: number }, setting: { block: number; threshold: number; scale: number; slot: number; chunk?: number }): { words: Uint32Array; keys: Uint32Array };
}

/**
 * The XAttention estimator's kernels on fibers: the masses on CUDA cores or on tensor cores (their
 * intrinsics emulated, hostTensorCore), then the sizes, the clear and the selection.
 */
export function hostXAttention(element: CudaElement, headDim: number, stride: number, cores: XAttentionMassPlan["kind"]): HostXAttention {
  const massName = xattentionMassKernels(element, headDim, stride)[cores], names = xattentionSelectKernels;
  // Tensor cores: the runtime's grid (xattentionTensorRowTiles) arrives as row_tiles.
  const massLaunch = cores === "tensorCores"
    ? `strict_barriers = true;
  launch_grid({(unsigned)row_tiles, 1, (unsigned)H}, ${cudaEstimatorThreads}, [&] { ${massName}(q.data(), k.data(), keys.data(), Q, K, H, KVH, block / ${stride}, rb, cb, f[1]); });
  check_copies_landed();
  strict_barriers = false;`
    : `// Scores start as garbage: a score the masses read before the kernel wrote it shows.
  std::vector<float> scores((size_t)H * chunk * ${xattentionCellRowsCuda(headDim, stride)} * ((K + ${stride - 1}) / ${stride}), -7.0f);
  for (int b0 = 0; b0 < rb; b0 += chunk) {
    const int blocks = min(chunk, rb - b0);
    launch_grid({(unsigned)blocks, 1, (unsigned)H}, ${cudaEstimatorThreads}, [&] { ${massName}(q.data(), k.data(), scores.data(), keys.data(), Q, K, H, KVH, block, rb, cb, b0, blocks, f[1]); });
  }`;
  const driver = `
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  FILE* in = fopen(argv[1], "rb");
  if (in == nullptr) return 2;
  int h[9];  // Q, K, H, KVH, block, slot, q words, k words, aux words
  float f[2];  // threshold, scale
  int chunk, row_tiles;  // query blocks a CUDA-core mass launch serves, blocks of the tensor-core one
  if (fread(h, 4, 9, in) != 9 || fread(f, 4, 2, in) != 2 || fread(&chunk, 4, 1, in) != 1 || fread(&row_tiles, 4, 1, in) != 1) return 2;
  const int Q = h[0], K = h[1], H = h[2], KVH = h[3], block = h[4], slot = h[5], aux_words = h[8];
  std::vector<unsigned short> q(h[6]), k(h[7]);
  std::vector<unsigned> aux(aux_words);
  if (fread(q.data(), 2, q.size(), in) != q.size() || fread(k.data(), 2, k.size(), in) != k.size() || fread(aux.data(), 4, aux.size(), in) != aux.size()) return 2;
  fclose(in);
  const int rb = (Q + block - 1) / block, cb = (K + block - 1) / block;
  // Masses start as garbage (1.0f, and 7 sizes): a block pair the mass kernel forgets shows.
  std::vector<unsigned> keys((size_t)H * rb * cb, 0x3f800000u), limits((size_t)H * rb, 7u);
  ${massLaunch}
  launch_grid({(unsigned)rb, 1, (unsigned)H}, ${cudaEstimatorThreads}, [&] { ${names.limits}(keys.data(), limits.data(), Q, K, block, rb, cb, f[0]); });
  const int words = (int)aux[4 * slot + 1] * H;
  launch_plain({${estimatorBlocks("words")}, 1, 1}, ${cudaEstimatorThreads}, [&] { ${names.clear}(aux.data(), slot, H); });
  launch_grid({(unsigned)rb, 1, (unsigned)H}, ${cudaSelectThreads}, [&] { ${names.select}(keys.data(), aux.data(), limits.data(), (unsigned)cb, 0xffffffffu, (unsigned)slot, (unsigned)rb); });
  FILE* out = fopen(argv[2], "wb");
  if (out == nullptr || fwrite(aux.data(), 4, aux.size(), out) != aux.size() || fwrite(keys.data(), 4, keys.size(), out) != keys.size()) return 2;
  fclose(out);
  return 0;
}
`;
  const mass = cores === "tensorCores"
    ? withHostTensorCores(emitXAttentionTensorMassCuda(element, headDim, stride, massName), element)
    : emitXAttentionMassCuda(element, headDim, stride);
  const { dir, binary } = compileForHost(`xattention-${element}-s${stride}-${cores}`, `${vectorShim}${mass}${emitXAttentionSelectCuda()}${driver}`, threadedShim);
  return {
    run: (q, k, aux, { Q, K, H, KVH }, { block, threshold, scale, slot, chunk }) => {
      const input = join(dir, "input.bin"), output = join(dir, "aux.bin");
      const header = Int32Array.from([Q, K, H, KVH, block, slot, q.length, k.length, aux.length]);
      const floats = Float32Array.of(threshold, scale);
      const blocks = Int32Array.of(Math.max(1, Math.min(chunk ?? Infinity, Math.ceil(Q / block))), xattentionTensorRowTiles(Q, block, stride));
      writeFileSync(input, Buffer.concat([header, floats, blocks, q, k, aux].map((words) => Buffer.from(words.buffer, words.byteOffset, words.byteLength))));
      execFileSync(binary, [input, output], { stdio: ["ignore", "ignore", "pipe"] });
      const bytes = readFileSync(output);
      const all = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      return { words: all.slice(0, aux.length), keys: all.slice(aux.length) };
    },
  };
}

/** Generated CUDA with its tensor-core block (tensorCoreCuda) replaced by the host emulation. */
function withHostTensorCores(text: string, element: CudaElement): string {
  const intrinsics = tensorCoreCuda(element);
  if (!text.includes(intrinsics)) throw new Error("the kernel's tensor-core block is not tensorCoreCuda's");
  return text.replace(intrinsics, hostTensorCore(element));
}

/**
 * The attention kernel's tensor-core intrinsics (tensorCoreCuda in backends/cuda/prelude.ts) for the fibers
 * of threadedShim, from the PTX ISA's fragment layouts ("Matrix Fragments for mma.m16n8k16 with floating
 * point type", "ldmatrix"). A warp collective: every thread leaves its operands in its slot, the block meets
 * (the attention kernel makes every collective in uniform control flow, so a block step is a warp step;
 * strict_barriers checks that no thread has ended while others wait at one), each lane computes its own
 * result from its warp's slots, and the block meets again before a slot is reused. ldmatrix also checks the
 * 16-byte row alignment the device requires.
 */
function hostTensorCore(element: CudaElement): string {
  const toFloat = element === "f16"
    ? "_Float16 h; std::memcpy(&h, &bits, 2); return (float)h;"
    : "return __uint_as_float((unsigned)bits << 16);";
  // f32 to bf16, ties to even (NaN stays NaN).
  const fromFloat = element === "f16"
    ? "const _Float16 h = (_Float16)x; unsigned short bits; std::memcpy(&bits, &h, 2); return bits;"
    : "const unsigned u = __float_as_uint(x); if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u); return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);";
  return `
#include <cstdint>
struct LaneSlot { const unsigned short* row; unsigned a[4]; unsigned b[2]; float f; bool vote; };
static LaneSlot lane_slots[1024];
static inline float host_to_float(unsigned short bits) { ${toFloat} }
static inline unsigned short host_from_float(float x) { ${fromFloat} }
static inline unsigned short half_of(unsigned word, int high) { return (unsigned short)(high ? word >> 16 : word & 0xffffu); }

static void ldmatrix_any(unsigned* r, const unsigned short* p, bool trans, unsigned matrices = 4) {
  const unsigned t = threadIdx.x, lane = t % 32, warp0 = t - lane;
  if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) { fprintf(stderr, "ldmatrix: row address of thread %u not 16-byte aligned\\n", t); abort(); }
  lane_slots[t].row = p;
  __syncthreads();
  for (unsigned i = 0; i < matrices; i++) {
    // Matrix i's eight rows start at the addresses of lanes 8i .. 8i + 7; lane l holds row l / 4, columns
    // 2 (l % 4) and 2 (l % 4) + 1, or transposed, column l / 4 of rows 2 (l % 4) and 2 (l % 4) + 1.
    const LaneSlot* m = lane_slots + warp0 + 8 * i;
    const unsigned lo = trans ? m[2 * (lane % 4)].row[lane / 4] : m[lane / 4].row[2 * (lane % 4)];
    const unsigned hi = trans ? m[2 * (lane % 4) + 1].row[lane / 4] : m[lane / 4].row[2 * (lane % 4) + 1];
    r[i] = lo | (hi << 16);
  }
  __syncthreads();
}
static void ldmatrix_x4(unsigned* r, const unsigned short* p) { ldmatrix_any(r, p, false); }
[[maybe_unused]] static void ldmatrix_x2(unsigned* r, const unsigned short* p) { ldmatrix_any(r, p, false, 2); }
[[maybe_unused]] static void ldmatrix_x4_trans(unsigned* r, const unsigned short* p) { ldmatrix_any(r, p, true); }

[[maybe_unused]] static unsigned pack2(float lo, float hi) { return (unsigned)host_from_float(lo) | ((unsigned)host_from_float(hi) << 16); }

// cp.async: a copy's destination reads as NaN (0x7fff in f16 and in bf16) from its issue until a wait covers
// its group, so a kernel that reads staged data before waiting, or before the barrier after the wait (a
// lower thread's copies land when that thread waits), computes NaN and its test fails.
struct AsyncCopy { unsigned short* dst; const unsigned short* src; bool valid; };
static std::vector<AsyncCopy> open_copies[1024];
static std::vector<std::vector<AsyncCopy>> copy_groups[1024];
static void copy_async_16(unsigned short* dst, const unsigned short* src, bool valid) {
  if (reinterpret_cast<std::uintptr_t>(dst) % 16 != 0 || (valid && reinterpret_cast<std::uintptr_t>(src) % 16 != 0)) { fprintf(stderr, "cp.async: thread %u's addresses are not 16-byte aligned\\n", threadIdx.x); abort(); }
  for (int i = 0; i < 8; i++) dst[i] = 0x7fffu;
  open_copies[threadIdx.x].push_back(AsyncCopy{dst, src, valid});
}
static void copy_async_commit() {
  copy_groups[threadIdx.x].push_back(open_copies[threadIdx.x]);
  open_copies[threadIdx.x].clear();
}
template <int N>
static void copy_async_wait() {
  std::vector<std::vector<AsyncCopy>>& groups = copy_groups[threadIdx.x];
  while (groups.size() > (size_t)N) {
    for (const AsyncCopy& copy : groups.front())
      for (int i = 0; i < 8; i++) copy.dst[i] = copy.valid ? copy.src[i] : 0u;
    groups.erase(groups.begin());
  }
}
// After a launch: no thread left copies unwaited (or uncommitted).
static void check_copies_landed() {
  for (unsigned t = 0; t < 1024; t++) {
    if (!open_copies[t].empty() || !copy_groups[t].empty()) { fprintf(stderr, "cp.async: thread %u ended with copies it never waited for\\n", t); abort(); }
  }
}

static void mma16816(float* c, const unsigned* a, unsigned b0, unsigned b1) {
  const unsigned t = threadIdx.x, lane = t % 32, warp0 = t - lane;
  LaneSlot& mine = lane_slots[t];
  for (int i = 0; i < 4; i++) mine.a[i] = a[i];
  mine.b[0] = b0;
  mine.b[1] = b1;
  __syncthreads();
  // A (16 × 16): element (row, col) is in lane (row % 8) · 4 + (col % 8) / 2, register (row ≥ 8) + 2 (col ≥ 8),
  // half col % 2. B (16 × 8): element (k, n) in lane n · 4 + (k % 8) / 2, register k ≥ 8, half k % 2.
  auto A = [&](int row, int col) { return host_to_float(half_of(lane_slots[warp0 + (row % 8) * 4 + (col % 8) / 2].a[(row >= 8) + 2 * (col >= 8)], col % 2)); };
  auto B = [&](int k, int n) { return host_to_float(half_of(lane_slots[warp0 + n * 4 + (k % 8) / 2].b[k >= 8], k % 2)); };
  float d[4];
  for (int e = 0; e < 4; e++) {
    // C and D: element e of lane l is (l / 4 + 8 (e ≥ 2), 2 (l % 4) + e % 2).
    const int row = (int)lane / 4 + (e >= 2 ? 8 : 0), col = 2 * ((int)lane % 4) + e % 2;
    float sum = c[e];
    for (int k = 0; k < 16; k++) sum += A(row, k) * B(k, col);
    d[e] = sum;
  }
  __syncthreads();
  for (int e = 0; e < 4; e++) c[e] = d[e];
}

[[maybe_unused]] static float __shfl_xor_sync(unsigned mask, float value, int offset) {
  if (mask != 0xffffffffu) { fprintf(stderr, "__shfl_xor_sync: partial masks are not emulated\\n"); abort(); }
  const unsigned t = threadIdx.x, lane = t % 32;
  lane_slots[t].f = value;
  __syncthreads();
  const float other = lane_slots[t - lane + (lane ^ (unsigned)offset)].f;
  __syncthreads();
  return other;
}

[[maybe_unused]] static unsigned __ballot_sync(unsigned mask, bool predicate) {
  if (mask != 0xffffffffu) { fprintf(stderr, "__ballot_sync: partial masks are not emulated\\n"); abort(); }
  const unsigned t = threadIdx.x, lane = t % 32;
  lane_slots[t].vote = predicate;
  __syncthreads();
  unsigned votes = 0u;
  for (unsigned l = 0; l < 32; l++) votes |= lane_slots[t - lane + l].vote ? 1u << l : 0u;
  __syncthreads();
  return votes;
}
`;
}

/** A launch's attention kernel run on the host; out and lse as the kernel writes them (split-K: the partials). */
export interface HostAttention {
  run(launch: KernelLaunch, sizes: Sizes, tensors: { q: Uint16Array; k: Uint16Array; v: Uint16Array }, layout?: { splits?: number; pack?: number }): { out: Float32Array; lse: Float32Array };
}

/**
 * The tensor-core attention kernel (backends/cuda/emit.ts), compiled for the host with its intrinsics
 * emulated (hostTensorCore) and run over its grid on fibers, 128 per block. Dynamic kernels get their tile
 * index from the host run of their builder (hostBuilder). The text is the one nvcc gets, but for the
 * intrinsics' block: the layouts of the fragments are the PTX ISA's as read here, so this checks the kernel's
 * logic (visits, masks, softmax, lattices, row groups, split-K, bounds), not NVIDIA's hardware.
 */
export function hostAttention(kernel: KernelLaunch["kernel"]): HostAttention {
  const element = checkCudaKernel(kernel);
  const text = emitCuda(kernel);
  const dynamic = [kernel.inputs.length > 0 ? "aux.data()" : "", kernel.segments.kind === "tileIndex" ? "index.data()" : ""].filter((x) => x !== "");
  const driver = `
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  FILE* in = fopen(argv[1], "rb");
  if (in == nullptr) return 2;
  int h[14];  // Q, K, H, KVH, L, layer, splits, heads served, query tiles, q words, kv words, aux words, index words, pack
  if (fread(h, 4, 14, in) != 14) return 2;
  std::vector<int> heads(h[7]);
  std::vector<unsigned short> q(h[9]), k(h[10]), v(h[10]);
  std::vector<unsigned> aux(h[11]), index(h[12]);
  if (fread(heads.data(), 4, heads.size(), in) != heads.size() || fread(q.data(), 2, q.size(), in) != q.size() || fread(k.data(), 2, k.size(), in) != k.size()
      || fread(v.data(), 2, v.size(), in) != v.size() || fread(aux.data(), 4, aux.size(), in) != aux.size() || fread(index.data(), 4, index.size(), in) != index.size()) return 2;
  fclose(in);
  // Outputs start as NaN: a row the kernel forgets to write shows.
  std::vector<float> out((size_t)h[6] * h[2] * h[0] * D, NAN), lse((size_t)h[6] * h[2] * h[0], NAN);
  strict_barriers = true;
  launch_grid({(unsigned)h[8], (unsigned)h[6], (unsigned)(h[7] / h[13])}, 128, [&] {
    ${kernel.name}(q.data(), k.data(), v.data(), out.data(), lse.data(), heads.data(), ${dynamic.map((x) => `${x}, `).join("")}h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[13]);
  });
  check_copies_landed();
  FILE* result = fopen(argv[2], "wb");
  if (result == nullptr || fwrite(out.data(), 4, out.size(), result) != out.size() || fwrite(lse.data(), 4, lse.size(), result) != lse.size()) return 2;
  fclose(result);
  return 0;
}
`;
  // Dynamic shared memory (wide head dims) is the launch's on a GPU; here, a shared array of its size.
  const dynamicShared = "extern __shared__ __align__(16) unsigned short dynamic_s[];";
  const bytes = cudaDynamicSharedBytes(kernel);
  if ((bytes > 0) !== text.includes(dynamicShared)) throw new Error("the kernel's dynamic shared memory is not what cudaDynamicSharedBytes says");
  const hostText = withHostTensorCores(text, element).replace(dynamicShared, `__shared__ __align__(16) unsigned short dynamic_s[${bytes / 2}];`);
  const { dir, binary } = compileForHost(`attention-${kernel.name}`, `${vectorShim}${hostText}${driver}`, threadedShim);
  // The builder's text, like the kernel's, depends on the kernel only: built once, on the first run.
  let builder: HostBuilder | undefined;
  return {
    run: (launch, sizes, tensors, { splits = 1, pack = 1 } = {}) => {
      if (launch.kernel.segments.kind === "tileIndex") builder ??= hostBuilder(launch);
      const index = builder === undefined ? new Uint32Array(0) : builder.run(launch, sizes);
      const aux = launch.aux?.words ?? new Uint32Array(0);
      const header = Int32Array.from([sizes.Q, sizes.K, sizes.H, sizes.KVH, sizes.L, launch.layer, splits, launch.heads.length, queryTileCount(launch.kernel, pack * sizes.Q), tensors.q.length, tensors.k.length, aux.length, index.length, pack]);
      const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      const input = join(dir, "input.bin"), output = join(dir, "output.bin");
      writeFileSync(input, Buffer.concat([bytes(header), bytes(Int32Array.from(launch.heads)), bytes(tensors.q), bytes(tensors.k), bytes(tensors.v), bytes(aux), bytes(index)]));
      execFileSync(binary, [input, output], { stdio: ["ignore", "ignore", "pipe"] });
      const result = readFileSync(output);
      const all = new Float32Array(result.buffer.slice(result.byteOffset, result.byteOffset + result.byteLength));
      const outWords = splits * sizes.H * sizes.Q * launch.kernel.headDim;
      return { out: all.slice(0, outWords), lse: all.slice(outWords) };
    },
  };
}
