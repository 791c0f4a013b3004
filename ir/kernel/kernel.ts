import type { BoolNode } from "../pattern/nodes.js";
import { printNode } from "../pattern/print.js";
import type { Bound, PreparedRegion } from "../regions/region.js";
import { hash64 } from "../../util/hash.js";

/**
 * Kernel IR: one attention kernel, with everything a backend needs and nothing it must decide about the
 * pattern. A backend turns it into source; the IR says which key tiles each query tile visits (its segment
 * source), which of them need the mask, and the mask itself.
 */
export type Dtype = "f32" | "f16";

/**
 * Where a query tile's key tiles come from:
 * - closedForm: computed from the tile index and the regions' constants (no metadata);
 * - allTiles: every key tile, always masked (the masked-dense baseline and the fallback).
 */
export type SegmentSource =
  | { readonly kind: "closedForm"; readonly regions: readonly PreparedRegion[] }
  | { readonly kind: "allTiles" };

export interface AttentionKernel {
  readonly name: string;
  readonly headDim: number;
  readonly dtype: Dtype;
  readonly blockM: number;
  readonly blockN: number;
  readonly qLen: number;
  readonly kvLen: number;
  readonly heads: number;
  readonly kvHeads: number;
  /** The query heads this kernel serves (heads whose specialized pattern is the same). */
  readonly headList: readonly number[];
  readonly scale: number;
  readonly segments: SegmentSource;
  /** The kept-pair test over q, k, i, applied on tiles that are not full. */
  readonly mask: BoolNode;
}

export function kernelHash(kernel: AttentionKernel): string {
  return hash64(printKernel(kernel));
}

/** A readable dump of the kernel IR (`stipple ir --stage kernel`), also the structural key of the pipeline cache. */
export function printKernel(kernel: AttentionKernel): string {
  const lines = [
    `kernel ${kernel.name}: ${kernel.dtype}, head dim ${kernel.headDim}, tiles ${kernel.blockM} × ${kernel.blockN}`,
    `  lengths Q = ${kernel.qLen}, K = ${kernel.kvLen}; heads ${kernel.heads} over ${kernel.kvHeads} kv heads; serves heads [${kernel.headList.join(", ")}]`,
    `  scale ${kernel.scale}`,
    `  mask on partial tiles: ${printNode(kernel.mask)}`,
  ];
  switch (kernel.segments.kind) {
    case "allTiles":
      lines.push("  segments: every key tile, masked");
      break;
    case "closedForm":
      lines.push("  segments: closed form from the tile index");
      kernel.segments.regions.forEach((r, at) => {
        const bound = (b: Bound): string => `${b.slope}·q + ${b.offset}`;
        lines.push(`    region ${at}: q in ${r.rowMin}..${r.rowMax}, k >= max(${r.lower.map(bound).join(", ")}), k <= min(${r.upper.map(bound).join(", ")})${r.exact ? "" : ", masked"}`);
      });
      break;
  }
  return lines.join("\n") + "\n";
}
