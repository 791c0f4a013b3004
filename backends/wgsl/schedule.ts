import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import type { AttentionKernel, Dtype } from "../../ir/kernel/kernel.js";
import { unsupportedHeadDim, type HeadDims } from "../head-dims.js";

/**
 * The WGSL backend's capability record and tile choice. Kernels stage K and V tiles of BLOCK_N × D floats
 * in workgroup memory; 16 KiB for both fits every adapter's minimum (compatibility mode guarantees 16 KiB).
 */
export const wgslCapabilities = {
  workgroupStorageBytes: 16384,
  maxInvocationsPerWorkgroup: 256,
  /** Any multiple of 4 (the kernels read vec4 quads); at 256, 16 KiB of workgroup memory holds 8 keys' K and V. */
  headDims: { multipleOf: 4, min: 4, max: 256 } as HeadDims,
  /** Tensor types: f16 is stored two halves per word and unpacked to f32 (core WGSL, every adapter). */
  elements: ["f32", "f16"] as readonly Dtype[],
  /** f16 arithmetic (`enable f16`) is not used: no software adapter has `shader-f16` to check it on. */
  shaderF16: false,
} as const;

/** Throws STP902 for a tensor type or head dim the WGSL kernel does not take. */
export function checkWgslKernel(kernel: Pick<AttentionKernel, "dtype" | "headDim">): void {
  const unsupported = unsupportedHeadDim(wgslCapabilities.headDims, kernel.headDim, "WGSL", "STP902");
  if (unsupported !== undefined) throw new DiagnosticError([unsupported]);
  if (!wgslCapabilities.elements.includes(kernel.dtype)) {
    throw new DiagnosticError([diagnostic("STP902", `the WGSL backend takes ${wgslCapabilities.elements.join(" or ")} tensors, not ${kernel.dtype}`, { hint: "use --dtype f16, or --target cuda for bf16" })]);
  }
}

export function defaultBlockN(headDim: number): number {
  return Math.max(1, Math.min(64, Math.floor(wgslCapabilities.workgroupStorageBytes / (8 * headDim))));
}

export const defaultBlockM = 64;
