/**
 * The WGSL backend's capability record and tile choice. Kernels stage K and V tiles of BLOCK_N × D floats
 * in workgroup memory; 16 KiB for both fits every adapter's minimum (compatibility mode guarantees 16 KiB).
 */
export const wgslCapabilities = {
  workgroupStorageBytes: 16384,
  maxInvocationsPerWorkgroup: 256,
  headDims: [32, 64, 128] as readonly number[],
  shaderF16: false,
} as const;

export function defaultBlockN(headDim: number): number {
  return Math.max(1, Math.min(64, Math.floor(wgslCapabilities.workgroupStorageBytes / (8 * headDim))));
}

export const defaultBlockM = 64;
