import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { DiagnosticCode } from "../diagnostics/catalog.js";

/**
 * The head dims a backend's kernels take, as a range of multiples rather than a list: real models use 64 and
 * 128 but also 80 (Phi-2), 96 (Phi-3), 160, 192 and 256, and a kernel that handles one multiple of its
 * vector width handles them all. Checked before anything is printed, so another dim is a coded error.
 */
export interface HeadDims {
  /** The kernels' vector width along the head dim: WGSL reads vec4s, CUDA's tensor cores take 16 at a time. */
  readonly multipleOf: number;
  readonly min: number;
  /** What fits: WGSL's 16 KiB of workgroup memory still holds 8 keys; CUDA's q and output stay in registers. */
  readonly max: number;
}

export function supportsHeadDim(dims: HeadDims, headDim: number): boolean {
  return Number.isInteger(headDim) && headDim >= dims.min && headDim <= dims.max && headDim % dims.multipleOf === 0;
}

/** Every head dim in the range, smallest first. */
export function headDimsOf(dims: HeadDims): number[] {
  const all: number[] = [];
  for (let d = Math.ceil(dims.min / dims.multipleOf) * dims.multipleOf; d <= dims.max; d += dims.multipleOf) all.push(d);
  return all;
}

/** "multiples of 16 from 16 to 160", for hints and help. */
export function describeHeadDims(dims: HeadDims): string {
  return `multiples of ${dims.multipleOf} from ${dims.min} to ${dims.max}`;
}

/**
 * The one check every entry point makes (the CLI's commands, compile(), the backends' own before printing):
 * undefined when `dims` holds `headDim`, else the diagnostic naming the range, under the caller's code.
 */
export function unsupportedHeadDim(dims: HeadDims, headDim: number, backend: "WGSL" | "CUDA", code: DiagnosticCode): Diagnostic | undefined {
  if (supportsHeadDim(dims, headDim)) return undefined;
  return diagnostic(code, `head dim ${headDim} is not supported by the ${backend} backend`, { hint: `use ${describeHeadDims(dims)}` });
}
