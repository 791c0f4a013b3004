import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import type { AttentionKernel } from "../../ir/kernel/kernel.js";
import { unsupportedHeadDim, type HeadDims } from "../head-dims.js";

/**
 * The CUDA backend's capability record: what its tensor-core kernel supports, checked before printing so
 * that anything else is a coded error, never a wrong kernel.
 */
export type CudaElement = "f16" | "bf16";
export type CudaArch = "sm_80" | "sm_90";

export const cudaCapabilities = {
  /**
   * Multiples of 16 (one tensor-core k step) up to 256. Up to 144 q's fragments and the output accumulator
   * fit in registers without spills (at 160, tri_shape's mask spills 8 bytes on sm_80); past it q stays in
   * shared memory (cudaQInShared).
   */
  headDims: { multipleOf: 16, min: 16, max: 256 } as HeadDims,
  elements: ["f16", "bf16"] as readonly CudaElement[],
  archs: ["sm_80", "sm_90"] as readonly CudaArch[],
} as const;

/** The largest head dim whose q fragments stay in registers. */
export const cudaMaxRegisterQ = 144;

/**
 * Past cudaMaxRegisterQ the kernel keeps q in shared memory, its fragments loaded at each k step, and K, V
 * and q tiles live in dynamic shared memory: at 256 they take 99 KiB, past the 48 KiB a kernel may declare
 * statically (the runtime raises the launch's limit with cuFuncSetAttribute).
 */
export function cudaQInShared(headDim: number): boolean {
  return headDim > cudaMaxRegisterQ;
}

/**
 * Keys per online-softmax step of a wide kernel: a quarter of the tile, so a quarter of the score
 * registers. At 32 the gather kernels still spill 8 bytes at 224 or 256 (sm_90); at 16 no example spills at
 * any wide head dim on either arch. What it costs (one more output rescale per 16 keys) waits for a GPU.
 */
export const cudaSoftmaxStep = 16;

/** Bytes of dynamic shared memory the attention kernel's launch needs: 0 unless q is in shared memory. */
export function cudaDynamicSharedBytes(kernel: Pick<AttentionKernel, "headDim" | "blockM" | "blockN">): number {
  // Rows padded by 8 halves, as emit.ts's STRIDE.
  return cudaQInShared(kernel.headDim) ? (2 * kernel.blockN + kernel.blockM) * (kernel.headDim + 8) * 2 : 0;
}

/** 4 warps, each serving 16 of a tile's 64 query rows. */
export const cudaThreadsPerBlock = 128;

/** 4 warps × 16 query rows, 64 keys per tile: K and V tiles of 64 × (D + 8) halves fit 48 KiB at D = 128. */
export const cudaTile = { blockM: 64, blockN: 64 } as const;

/**
 * How to lower for the CUDA kernel: its tiles, and listed columns and diagonals of dynamic patterns
 * gathered apart (backends/cuda/gathers.ts), as for WGSL.
 */
export const cudaLowering = { ...cudaTile, gathers: true } as const;

/** Throws STP501 for what the kernel cannot do; returns the tensor-core element type. */
export function checkCudaKernel(kernel: AttentionKernel): CudaElement {
  const fail = (message: string, hint: string): never => {
    throw new DiagnosticError([diagnostic("STP501", message, { hint })]);
  };
  const unsupported = unsupportedHeadDim(cudaCapabilities.headDims, kernel.headDim, "CUDA", "STP501");
  if (unsupported !== undefined) throw new DiagnosticError([unsupported]);
  if (kernel.blockM !== cudaTile.blockM || kernel.blockN !== cudaTile.blockN) fail(`the CUDA kernel uses ${cudaTile.blockM} × ${cudaTile.blockN} tiles, not ${kernel.blockM} × ${kernel.blockN}`, "leave --block-m and --block-n out for --target cuda");
  if (!(cudaCapabilities.elements as readonly string[]).includes(kernel.dtype)) fail(`CUDA kernels take ${cudaCapabilities.elements.join(" or ")} tensors (tensor cores), not ${kernel.dtype}`, "use --dtype f16 or bf16 (stipple run converts f32 .npy input)");
  return kernel.dtype === "bf16" ? "bf16" : "f16";
}
