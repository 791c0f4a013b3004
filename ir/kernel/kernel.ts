import type { BoolNode, InputRef } from "../pattern/nodes.js";
import { printNode } from "../pattern/print.js";
import { printSymbolicBound, type RowLimit, type SymbolicBound } from "../regions/region.js";
import { hash64 } from "../../util/hash.js";

/**
 * Kernel IR: one attention kernel, with everything a backend needs and nothing it must decide about the
 * pattern. Lengths and head counts are not in it: they arrive at launch, so one compiled kernel serves every
 * shape. A backend turns it into source; the IR says which key tiles each query tile visits (its segment
 * source), which of them need the mask, and the mask itself (over q, k, i and the sizes).
 */
export type Dtype = "f32" | "f16";

/** A region in terms of the lengths, the implicit 0 ≤ k ≤ K − 1 included. */
export interface KernelRegion {
  readonly lower: readonly SymbolicBound[];
  readonly upper: readonly SymbolicBound[];
  readonly rows: readonly RowLimit[];
  /** No restrictions: a key tile inside the region's intersection over the tile's rows needs no mask. */
  readonly exact: boolean;
}

/**
 * Where a query tile's key tiles come from:
 * - closedForm: computed from the tile index, the lengths and the regions' constants (no metadata);
 * - allTiles: every key tile, always masked (the masked-dense baseline and the fallback);
 * - indexPlan: per head and query tile, segment lists built from the runtime inputs (dynamic patterns).
 */
export type SegmentSource =
  | { readonly kind: "closedForm"; readonly regions: readonly KernelRegion[] }
  | { readonly kind: "allTiles" }
  | { readonly kind: "indexPlan" };

export interface AttentionKernel {
  readonly name: string;
  readonly headDim: number;
  readonly dtype: Dtype;
  readonly blockM: number;
  readonly blockN: number;
  readonly scale: number;
  readonly segments: SegmentSource;
  /** The kept-pair test over q, k, i, the sizes (and h, kvh, l for dynamic patterns), on tiles that are not full. */
  readonly mask: BoolNode;
  /** Runtime inputs the mask reads on the device, in the order of the input directory. */
  readonly inputs: readonly InputRef[];
}

/** Runtime data of a launch beside q, k, v: packed inputs and index plans (see backends/wgsl/aux.ts). */
export interface AuxData {
  readonly words: Uint32Array;
  /** Per input: base word, words per leaf, rows, columns; then the index plan's offsets and segments bases. */
  readonly directory: Uint32Array;
}

/** A kernel and the query heads it serves in one launch (heads whose specialized pattern is the same). */
export interface KernelLaunch {
  readonly kernel: AttentionKernel;
  readonly heads: readonly number[];
  readonly layer: number;
  readonly aux?: AuxData;
}

/** Structural key of a kernel: equal for kernels that compile to the same code (the pipeline cache key). */
export function kernelHash(kernel: AttentionKernel): string {
  return hash64(printKernel(kernel));
}

/** A readable dump of the kernel IR (`stipple ir --stage kernel`). */
export function printKernel(kernel: AttentionKernel): string {
  const lines = [
    `kernel ${kernel.name}: ${kernel.dtype}, head dim ${kernel.headDim}, tiles ${kernel.blockM} × ${kernel.blockN}, scale ${kernel.scale}`,
    `  mask on partial tiles: ${printNode(kernel.mask)}`,
  ];
  const bound = printSymbolicBound;
  switch (kernel.segments.kind) {
    case "allTiles":
      lines.push("  segments: every key tile, masked");
      break;
    case "indexPlan":
      lines.push(`  segments: index plan per head and query tile; inputs on the device: ${kernel.inputs.map((i) => i.name).join(", ") || "none"}`);
      break;
    case "closedForm":
      lines.push("  segments: closed form from the tile index");
      kernel.segments.regions.forEach((r, at) => {
        const rows = r.rows.map((limit) => `${bound(limit)} >= 0`);
        lines.push(`    region ${at}: ${[...rows, `k >= max(${r.lower.map(bound).join(", ")})`, `k <= min(${r.upper.map(bound).join(", ")})`].join(", ")}${r.exact ? "" : ", masked"}`);
      });
      break;
  }
  return lines.join("\n") + "\n";
}
