import type { ResidueRun } from "../../ir/kernel/kernel.js";

/** Integer division that floors (the pattern language's), for kernels and builders alike. */
export const integerPreludeCuda = `#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

__device__ __forceinline__ int floor_div(int a, int b) {
  const int t = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? t - 1 : t;
}

__device__ __forceinline__ int floor_mod(int a, int b) { return a - b * floor_div(a, b); }

__device__ __forceinline__ int ceil_div(int a, int b) { return -floor_div(-a, b); }
`;

/** Helpers every CUDA attention kernel uses: the integer ones, and ldmatrix. */
export const cudaPrelude = `${integerPreludeCuda}
__device__ __forceinline__ unsigned shared_address(const void* p) {
  unsigned address;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(address) : "l"(p));
  return address;
}

__device__ __forceinline__ void ldmatrix_x4(unsigned* r, const unsigned short* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(p)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(unsigned* r, const unsigned short* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(p)));
}
`;

/** The run numbering of backends/c-like/segments.ts. */
export const runsCuda = `
// The j-th member of the run (x - o) mod m < w, counting from o - m.
__device__ __forceinline__ int run_at(int j, int o, int m, int w) { return o - m + m * (j / w) + j % w; }

// The index of the run's first member >= x.
__device__ __forceinline__ int run_index(int x, int o, int m, int w) {
  const int y = x - o + m;
  return y <= 0 ? 0 : w * (y / m) + min(y % m, w);
}
`;

export function latticeCuda(lattice: ResidueRun): string {
  return `
constexpr int LATTICE_M = ${lattice.modulus};
constexpr int LATTICE_W = ${lattice.width};
__device__ __forceinline__ int lattice_key(int j, int o) { return run_at(j, o, LATTICE_M, LATTICE_W); }
__device__ __forceinline__ int lattice_index(int x, int o) { return run_index(x, o, LATTICE_M, LATTICE_W); }
`;
}
