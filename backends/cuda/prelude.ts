import type { ResidueRun } from "../../ir/kernel/kernel.js";
import type { CudaElement } from "./schedule.js";

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

/**
 * The attention kernel's tensor-core intrinsics, all its inline PTX in one block: ldmatrix (shared memory
 * to mma fragments, plain and transposed), mma.sync m16n8k16 with f32 accumulators, the conversion of
 * two f32 to a pair of 16-bit values, and cp.async (16 bytes global → shared without passing through
 * registers, in commit groups a thread waits for). Kept together so that a host emulation of a warp can take
 * their place (test/cuda-host.ts runs the kernel on the CPU that way).
 */
export function tensorCoreCuda(element: CudaElement): string {
  return `
__device__ __forceinline__ unsigned shared_address(const void* p) {
  unsigned address;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(address) : "l"(p));
  return address;
}

__device__ __forceinline__ void ldmatrix_x4(unsigned* r, const unsigned short* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(p)));
}

// Two 8 × 8 matrices, at the row addresses of lanes 0–15 (the others' are not read).
__device__ __forceinline__ void ldmatrix_x2(unsigned* r, const unsigned short* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];"
               : "=r"(r[0]), "=r"(r[1]) : "r"(shared_address(p)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(unsigned* r, const unsigned short* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(p)));
}

// Two f32 as one register of 16-bit values, lo in the low half.
__device__ __forceinline__ unsigned pack2(float lo, float hi) {
  unsigned r;
  asm("cvt.rn.${element}x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

// 16 bytes from global to shared memory, asynchronously: they land by the copy_async_wait that covers
// their commit group. Zeros when !valid (a source size of 0 reads nothing; src must still be an address).
__device__ __forceinline__ void copy_async_16(unsigned short* dst, const unsigned short* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(shared_address(dst)), "l"(src), "r"(valid ? 16 : 0) : "memory");
}

// Closes this thread's copies issued since the last commit into a group.
__device__ __forceinline__ void copy_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

// Waits until at most N of this thread's committed groups are still in flight (then a barrier makes every
// thread's landed copies visible to the block).
template <int N>
__device__ __forceinline__ void copy_async_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }

// c (16 × 8, f32) += a (16 × 16) · b (16 × 8), ${element} operands, one warp.
__device__ __forceinline__ void mma16816(float* c, const unsigned* a, unsigned b0, unsigned b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.${element}.${element}.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
`;
}

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

/**
 * 16-bit elements to f32 without intrinsics or inline PTX (the estimators and the diagonal path read each element once, so
 * a few integer operations cost nothing beside the loads), so the same text runs on the host in tests.
 */
export function elementToFloat(element: CudaElement): string {
  const body = element === "bf16"
    ? "  bits.u = (unsigned)h << 16;"
    : `  const unsigned sign = (unsigned)(h >> 15) << 31, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0u) return (sign != 0u ? -1.0f : 1.0f) * (float)mantissa * 5.9604644775390625e-8f;  // subnormal: m · 2^-24
  bits.u = sign | (exponent == 31u ? 0x7f800000u | (mantissa << 13) : ((exponent + 112u) << 23) | (mantissa << 13));`;
  return `__device__ __forceinline__ float element_to_float(unsigned short h) {
  union { unsigned u; float f; } bits;
${body}
  return bits.f;
}`;
}

/** Eight 16-bit elements of one 16-byte load to f32, in order (element 2j is word j's low half); after elementToFloat. */
export const eightToFloatCuda = `__device__ __forceinline__ void eight_to_float(uint4 w, float* out) {
  const unsigned words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
  for (int j = 0; j < 4; j++) {
    out[2 * j] = element_to_float((unsigned short)(words[j] & 0xffffu));
    out[2 * j + 1] = element_to_float((unsigned short)(words[j] >> 16));
  }
}
`;
