import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KernelLaunch } from "../ir/kernel/kernel.js";
import type { Sizes } from "../ir/pattern/eval-int.js";
import { tileIndexWords } from "../ir/plan/tile-index.js";
import { builderName, cudaBuilderThreads, emitTileBuilderCuda } from "../backends/cuda/tile-builder.js";

/**
 * Runs a generated CUDA tile-index builder on the host, for machines without a GPU: the builder is plain
 * integer C++ (see backends/cuda/tile-builder.ts), so with CUDA's qualifiers defined away and blockIdx /
 * threadIdx as globals, g++ compiles the very text nvcc gets, and a loop over the grid runs it. This tests
 * the generated code's logic (against the host reference); nvcc and ptxas check it compiles for the device.
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

/** Compiles the builder of `launch`'s kernel for the host with g++ (the kernel text, not the sizes, matters). */
export function hostBuilder(launch: KernelLaunch): HostBuilder {
  const dir = mkdtempSync(join(tmpdir(), "stipple-host-builder-"));
  const source = join(dir, "builder.cpp");
  const binary = join(dir, "builder");
  writeFileSync(source, `${hostShim}${emitTileBuilderCuda(launch.kernel)}${hostMain(builderName(launch.kernel))}`);
  execFileSync("g++", ["-std=c++17", "-O1", "-Wall", "-Werror", "-Wno-unused-variable", "-o", binary, source], { stdio: ["ignore", "ignore", "pipe"] });
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
