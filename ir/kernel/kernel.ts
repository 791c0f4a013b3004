import type { BoolNode, InputRef, IntNode } from "../pattern/nodes.js";
import { printNode } from "../pattern/print.js";
import { printSymbolicBound, type RowLimit, type SizeAffine, type SymbolicBound } from "../regions/region.js";
import { hash64 } from "../../util/hash.js";

/**
 * Kernel IR: one attention kernel, with everything a backend needs and nothing it must decide about the
 * pattern. Lengths and head counts are not in it: they arrive at launch, so one compiled kernel serves every
 * shape. A backend turns it into source; the IR says which key tiles each query tile visits (its segment
 * source), which of them need the mask, and the mask itself (over q, k, i and the sizes).
 */
/** Element type of q, k and v (accumulation is always f32). WGSL: f32, f16; CUDA: f16, bf16. */
export type Dtype = "f32" | "f16" | "bf16";

/**
 * `(slope·q + offset) mod modulus < width`, a run of `width` residues out of `modulus`. As a row test it
 * says which rows a region applies to (grid's horizontal lines); as a key lattice it is the shift of the
 * kept keys: keys k with `(k − (slope·q + offset)) mod modulus < width` (dilated, grid's vertical lines,
 * ladder's slices).
 */
export interface ResidueRun {
  readonly modulus: number;
  readonly width: number;
  readonly slope: number;
  readonly offset: SizeAffine;
}

/**
 * Which keys a region's loop walks: consecutive key tiles, or tiles of consecutive lattice keys (only the
 * keys on the lattice are loaded, so a line every 64 keys costs one key in 64, not every tile).
 */
export type KeySpace = { readonly kind: "tiles" } | { readonly kind: "lattice"; readonly lattice: ResidueRun };

/**
 * Rows split into groups, each the rows whose positions p have (p − start) mod modulus < width, served
 * in order, BM rows per workgroup. Each group lies wholly inside or outside every row test, so a test holds
 * for a whole workgroup or for none of it (grid: the rows on a horizontal line, and all the others). A key
 * lattice whose shift depends on q needs groups of width 1 (dilated: one group per residue of q).
 */
export interface RowGroups {
  readonly modulus: number;
  readonly runs: readonly { readonly start: number; readonly width: number }[];
}

export const consecutiveRows: RowGroups = { modulus: 1, runs: [{ start: 0, width: 1 }] };

/** A region in terms of the lengths, the implicit 0 ≤ k ≤ K − 1 included. */
export interface KernelRegion {
  readonly lower: readonly SymbolicBound[];
  readonly upper: readonly SymbolicBound[];
  readonly rows: readonly RowLimit[];
  /** Tests on the row alone; uniform over a workgroup (see RowGroups). */
  readonly rowTests: readonly ResidueRun[];
  readonly keys: KeySpace;
  /** Nothing else restricts it: a tile inside the region's intersection over the tile's rows needs no mask. */
  readonly exact: boolean;
}

/**
 * Where a query tile's key tiles come from:
 * - closedForm: computed from the tile index, the lengths and the regions' constants (no metadata);
 * - allTiles: every key tile, always masked (the masked-dense baseline and the fallback);
 * - tileIndex: per head and query tile, bitmaps of touched and full key tiles, built on the device from the
 *   runtime inputs by the tile classifier before the attention kernel runs (dynamic patterns; ir/plan/tile-index.ts).
 */
export type SegmentSource =
  | { readonly kind: "closedForm"; readonly regions: readonly KernelRegion[] }
  | { readonly kind: "allTiles" }
  | { readonly kind: "tileIndex" };

/** An index list the kernel reads keys from: the input and its leaf, over h, kvh, l (as in the mask's test). */
export interface GatheredList {
  readonly input: InputRef;
  readonly indices: readonly IntNode[];
}

/**
 * A dynamic kernel's gathered lines: index lists that the mask keeps positively as columns (`k in
 * vertical[h]`) or diagonals (`q - k in slash[h]`). The tile index is built from `tileMask`, the mask
 * without those tests; the kernel then visits the listed keys that no visited tile holds, masked: columns
 * BN at a time, gathered from K and V for the whole tile (MInference's vertical path); diagonals per row,
 * the keys q − o of the listed offsets that are not listed columns. passes/key-gathers.ts says why each
 * kept pair is counted once.
 */
export interface KeyGathers {
  readonly tileMask: BoolNode;
  readonly columns?: GatheredList;
  readonly diagonals?: GatheredList;
}

export interface AttentionKernel {
  readonly name: string;
  readonly headDim: number;
  readonly dtype: Dtype;
  readonly blockM: number;
  readonly blockN: number;
  readonly scale: number;
  readonly segments: SegmentSource;
  /** Which rows each workgroup serves (one group of consecutive rows unless the regions test rows). */
  readonly rowGroups: RowGroups;
  /** The kept-pair test over q, k, i, the sizes (and h, kvh, l for dynamic patterns), on tiles that are not full. */
  readonly mask: BoolNode;
  /** Runtime inputs the mask reads on the device, in the order of the input directory. */
  readonly inputs: readonly InputRef[];
  /** Only for tile-index kernels: listed keys gathered apart from the key tiles. */
  readonly gathers?: KeyGathers;
}

/** The mask a tile-index builder classifies key tiles by: without the gathered lines' tests. */
export function tileIndexMask(kernel: AttentionKernel): BoolNode {
  return kernel.gathers?.tileMask ?? kernel.mask;
}

/** Runtime inputs of a launch beside q, k, v, packed for the device (passes/device-inputs.ts). */
export interface AuxData {
  /** A directory (per input: base word, words per leaf, rows, columns), then the inputs' words. */
  readonly words: Uint32Array;
}

/** A kernel and the query heads it serves in one launch (heads whose specialized pattern is the same). */
export interface KernelLaunch {
  readonly kernel: AttentionKernel;
  readonly heads: readonly number[];
  readonly layer: number;
  readonly aux?: AuxData;
}

/**
 * Workgroups (CUDA: blocks) along the queries: ⌈Q / blockM⌉ for consecutive rows; with row groups, each
 * group gets as many as the widest could need (the spare ones find no rows and return at once).
 */
export function queryTileCount(kernel: AttentionKernel, qLen: number): number {
  return kernel.rowGroups.runs.length * groupTileCount(kernel.rowGroups, kernel.blockM, qLen);
}

export function groupTileCount(groups: RowGroups, blockM: number, qLen: number): number {
  const widest = Math.max(...groups.runs.map((r) => r.width));
  return Math.ceil((Math.ceil(qLen / groups.modulus) * widest) / blockM);
}

/** Structural key of a kernel: equal for kernels that compile to the same code (the pipeline cache key). */
export function kernelHash(kernel: AttentionKernel): string {
  return hash64(printKernel(kernel));
}

/** A readable dump of the kernel IR (`stipple ir --stage kernel`). */
export function printKernel(kernel: AttentionKernel): string {
  const lines = [
    `kernel ${kernel.name}: ${kernel.dtype}, head dim ${kernel.headDim}, tiles ${kernel.blockM} × ${kernel.blockN}, scale ${kernel.scale}`
      + (kernel.rowGroups.runs.length > 1 ? `, rows in ${kernel.rowGroups.runs.length} groups modulo ${kernel.rowGroups.modulus}` : ""),
    `  mask on partial tiles: ${printNode(kernel.mask)}`,
  ];
  const bound = printSymbolicBound;
  switch (kernel.segments.kind) {
    case "allTiles":
      lines.push("  segments: every key tile, masked");
      break;
    case "tileIndex":
      lines.push(`  segments: tile index per head and query tile, built on the device; inputs on the device: ${kernel.inputs.map((i) => i.name).join(", ") || "none"}`);
      if (kernel.gathers !== undefined) {
        const { columns, diagonals, tileMask } = kernel.gathers;
        const list = (l: GatheredList): string => `${l.input.name}[${l.indices.map(printNode).join(", ")}]`;
        lines.push(`  tiles classified by: ${printNode(tileMask)}`);
        if (columns !== undefined) lines.push(`  gathered columns: keys in ${list(columns)} outside the visited tiles`);
        if (diagonals !== undefined) lines.push(`  gathered diagonals: keys q - o, o in ${list(diagonals)}, outside the visited tiles and columns`);
      }
      break;
    case "closedForm":
      lines.push("  segments: closed form from the tile index");
      kernel.segments.regions.forEach((r, at) => {
        const rows = [...r.rows.map((limit) => `${bound(limit)} >= 0`), ...r.rowTests.map((test) => printRun(test, "0"))];
        const keys = r.keys.kind === "lattice" ? [`lattice ${printRun(r.keys.lattice, "k")}`] : [];
        const limit = (name: string, bounds: readonly string[]): string => (bounds.length === 1 ? bounds[0] ?? "" : `${name}(${bounds.join(", ")})`);
        lines.push(`    region ${at}: ${[...rows, `k >= ${limit("max", r.lower.map(bound))}`, `k <= ${limit("min", r.upper.map(bound))}`, ...keys].join(", ")}${r.exact ? "" : ", masked"}`);
      });
      break;
  }
  return lines.join("\n") + "\n";
}

/** `(k - (2·q + 1)) mod 4 < 2` (a key lattice) or `(q) mod 64 < 1` (a row test), printed as the run it is; a run of one residue as `== 0`. */
function printRun(run: ResidueRun, against: "k" | "0"): string {
  const shift = printSymbolicBound({ slope: run.slope, offset: run.offset });
  const value = against === "0" ? shift : shift === "0" ? "k" : `k - (${shift})`;
  return `(${value}) mod ${run.modulus} ${run.width === 1 ? "== 0" : `< ${run.width}`}`;
}
