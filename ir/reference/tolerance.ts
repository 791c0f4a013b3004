import type { Dtype } from "../kernel/kernel.js";

/**
 * How far a kernel's output may be from the Float64 dense reference, as a fraction of the output's scale
 * (max(1, max |reference|)), by the element type the kernel computes in. The reference is evaluated on the
 * inputs as the kernel sees them (rounded to f16/bf16 first), so what is left is the kernel's own rounding:
 * f32 math; f16/bf16 probabilities P before P·V (11 and 8 significant bits) with f32 accumulation.
 */
export const outputTolerance: Record<Dtype, number> = { f32: 1e-4, f16: 4e-3, bf16: 3e-2 };

/** Max abs difference and the scale it is judged against. */
export function compareOutputs(reference: Float64Array | Float32Array, got: Float32Array): { readonly maxAbsError: number; readonly scale: number } {
  let maxAbsError = 0;
  let scale = 1;
  reference.forEach((x, at) => {
    const difference = Math.abs(x - (got[at] ?? Number.NaN));
    maxAbsError = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : Math.max(maxAbsError, difference);
    scale = Math.max(scale, Math.abs(x));
  });
  return { maxAbsError, scale };
}
