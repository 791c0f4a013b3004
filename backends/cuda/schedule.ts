import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import type { AttentionKernel } from "../../ir/kernel/kernel.js";
import { describeHeadDims, supportsHeadDim, type HeadDims } from "../head-dims.js";

/**
 * The CUDA backend's capability record: what its tensor-core kernel supports, checked before printing so
 * that anything else is a coded error, never a wrong kernel.
 */
export type CudaElement = "f16" | "bf16";
export type CudaArch = "sm_80" | "sm_90";

export const cudaCapabilities = {
  /**
   * Multiples of 16 (one tensor-core k step) up to 144, where the q fragments and the output accumulator
   * still fit in registers without spills (at 160, tri_shape's mask spills 8 bytes on sm_80). Larger dims
   * need q in shared memory and K/V tiles past the 48 KiB of static shared memory (192 takes 50 KiB at 64
   * keys a tile): dynamic shared memory, not built yet.
   */
  headDims: { multipleOf: 16, min: 16, max: 144 } as HeadDims,
  elements: ["f16", "bf16"] as readonly CudaElement[],
  archs: ["sm_80", "sm_90"] as readonly CudaArch[],
} as const;

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
  if (!supportsHeadDim(cudaCapabilities.headDims, kernel.headDim)) fail(`head dim ${kernel.headDim} is not supported by the CUDA kernel`, `use ${describeHeadDims(cudaCapabilities.headDims)}${kernel.headDim > cudaCapabilities.headDims.max ? "; the WGSL backend takes head dims up to 256" : ""}`);
  if (kernel.blockM !== cudaTile.blockM || kernel.blockN !== cudaTile.blockN) fail(`the CUDA kernel uses ${cudaTile.blockM} × ${cudaTile.blockN} tiles, not ${kernel.blockM} × ${kernel.blockN}`, "leave --block-m and --block-n out for --target cuda");
  if (!(cudaCapabilities.elements as readonly string[]).includes(kernel.dtype)) fail(`CUDA kernels take ${cudaCapabilities.elements.join(" or ")} tensors (tensor cores), not ${kernel.dtype}`, "use --dtype f16 or bf16 (stipple run converts f32 .npy input)");
  return kernel.dtype === "bf16" ? "bf16" : "f16";
}
