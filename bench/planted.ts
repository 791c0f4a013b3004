import type { Bitset } from "../ir/mask/bitset.js";
import type { Tensor3 } from "../ir/reference/dense-attention.js";

/**
 * Synthetic q and k with a planted sparsity structure, for measuring whether an estimator finds it: the
 * attention of every query concentrates on the planted pairs, so an estimator that recovers the structure
 * keeps almost all of the attention mass. Vectors are random unit directions (nearly orthogonal), scaled
 * so that a planted pair's logit is `strength`; other logits are noise of about strength · √(terms / D), so
 * D = 128, a strength near 40 and a few planted terms per key leave almost no mass off the planted pairs
 * (massRecovered of the planted mask itself says how little).
 */
/** A Tensor3 stored as f32, as the device takes it. */
export type Tensor3F32 = Tensor3 & { readonly data: Float32Array };

export interface PlantedProblem {
  readonly q: Tensor3F32;
  readonly k: Tensor3F32;
  readonly v: Tensor3F32;
  /** What was planted, per head: key columns, diagonal offsets, or per query block its key blocks. */
  readonly planted: { readonly columns?: number[][]; readonly offsets?: number[][]; readonly blocks?: number[][][] };
}

export interface PlantedShape {
  readonly heads: number;
  readonly length: number;
  readonly headDim: number;
  /** Logit of a planted pair after the 1/√D scale (12–16 makes it dominate thousands of keys). */
  readonly strength?: number;
  readonly seed?: number;
}

function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

/** `count` random unit vectors of D dimensions (Box–Muller normals, normalised). */
function directions(count: number, D: number, next: () => number): Float64Array[] {
  return Array.from({ length: count }, () => {
    const v = Float64Array.from({ length: D }, () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

function distinct(count: number, below: number, next: () => number, always: readonly number[] = []): number[] {
  const chosen = new Set(always.filter((x) => x < below));
  while (chosen.size < Math.min(count + always.length, below)) chosen.add(Math.floor(next() * below));
  return [...chosen].sort((a, b) => a - b);
}

/**
 * Vertical and slash lines (MInference's vertical-slash heads): `columns` key columns every query attends
 * to (every q carries dimension 0, planted keys too: exact, no noise), and `offsets` diagonals q − k = o
 * (query i carries e(i), key j the e(j + o) of its planted offsets; e in the other D − 1 dimensions).
 */
export function plantedVerticalSlash(shape: PlantedShape, columns: number, offsets: number): PlantedProblem {
  const { heads: H, length: L, headDim: D } = shape;
  const next = random(shape.seed ?? 7);
  const raw = (shape.strength ?? 40) * Math.sqrt(D);
  const q = new Float32Array(H * L * D), k = new Float32Array(H * L * D), v = new Float32Array(H * L * D);
  const planted = { columns: [] as number[][], offsets: [] as number[][] };
  for (let h = 0; h < H; h++) {
    const e = directions(L, D - 1, next).map((x) => Float64Array.from([0, ...x]));
    const u = Float64Array.from({ length: D }, (_, d) => (d === 0 ? 1 : 0));
    const cols = distinct(columns, L, next, [0]);
    const offs = distinct(offsets, Math.min(L, 1024), next, [0]);
    planted.columns.push(cols);
    planted.offsets.push(offs);
    const planted_columns = new Set(cols);
    for (let i = 0; i < L; i++) {
      for (let d = 0; d < D; d++) q[(h * L + i) * D + d] = ((e[i]?.[d] ?? 0) + (u[d] ?? 0)) * Math.sqrt(raw);
    }
    for (let j = 0; j < L; j++) {
      for (let d = 0; d < D; d++) {
        let x = planted_columns.has(j) ? (u[d] ?? 0) : 0;
        for (const o of offs) if (j + o < L) x += e[j + o]?.[d] ?? 0;
        k[(h * L + j) * D + d] = x * Math.sqrt(raw);
        v[(h * L + j) * D + d] = Math.sin(j * 0.37 + d);
      }
    }
  }
  return { q: { shape: [H, L, D], data: q }, k: { shape: [H, L, D], data: k }, v: { shape: [H, L, D], data: v }, planted };
}

/**
 * Block structure (block-sparse heads): each query block attends to `perRow` earlier key blocks and its
 * diagonal block. Query rows of block b carry the directions of their key blocks; keys of block c carry c's.
 */
export function plantedBlocks(shape: PlantedShape, block: number, perRow: number): PlantedProblem {
  const { heads: H, length: L, headDim: D } = shape;
  const next = random(shape.seed ?? 11);
  const raw = (shape.strength ?? 32) * Math.sqrt(D);
  const blocks = Math.ceil(L / block);
  const q = new Float32Array(H * L * D), k = new Float32Array(H * L * D), v = new Float32Array(H * L * D);
  const planted: number[][][] = [];
  for (let h = 0; h < H; h++) {
    const u = directions(blocks, D, next);
    const rows = Array.from({ length: blocks }, (_, b) => distinct(perRow, b + 1, next, [b]));
    planted.push(rows);
    for (let i = 0; i < L; i++) {
      const chosen = rows[Math.floor(i / block)] ?? [];
      for (let d = 0; d < D; d++) q[(h * L + i) * D + d] = chosen.reduce((sum, c) => sum + (u[c]?.[d] ?? 0), 0) * Math.sqrt(raw);
    }
    for (let j = 0; j < L; j++) {
      for (let d = 0; d < D; d++) {
        k[(h * L + j) * D + d] = (u[Math.floor(j / block)]?.[d] ?? 0) * Math.sqrt(raw);
        v[(h * L + j) * D + d] = Math.cos(j * 0.29 + d);
      }
    }
  }
  return { q: { shape: [H, L, D], data: q }, k: { shape: [H, L, D], data: k }, v: { shape: [H, L, D], data: v }, planted: { blocks: planted } };
}

/**
 * Block structure with planted blocks alike, for timing a threshold estimator (XAttention) at a chosen
 * density: the key blocks form at most D groups of consecutive blocks, group g's keys carrying the unit
 * vector e_g; each query block attends to its own group and `perRow` earlier groups, its rows carrying the
 * sum of their unit vectors. Every planted pair then has logit `strength` and every other pair 0, so
 * the planted blocks share the mass equally and the estimator keeps about all of them. plantedBlocks' random
 * directions cannot do that past a few blocks a row: their overlaps (about ±√(perRow / D)) spread the planted
 * logits by e^±10 at D 64, one block then carries nearly all the mass, and XAttention kept 4 % of the pairs
 * whatever was planted.
 */
export function plantedBlockGroups(shape: PlantedShape, block: number, perRow: number): PlantedProblem {
  const { heads: H, length: L, headDim: D } = shape;
  const next = random(shape.seed ?? 13);
  const amplitude = Math.sqrt((shape.strength ?? 32) * Math.sqrt(D));
  const blocks = Math.ceil(L / block), groupBlocks = blockGroupSize(shape, block);
  const groupOf = (b: number): number => Math.floor(b / groupBlocks);
  const q = new Float32Array(H * L * D), k = new Float32Array(H * L * D), v = new Float32Array(H * L * D);
  const planted: number[][][] = [];
  for (let h = 0; h < H; h++) {
    const groups = Array.from({ length: groupOf(blocks - 1) + 1 }, (_, g) => distinct(perRow, g + 1, next, [g]));
    const rows = Array.from({ length: blocks }, (_, b) => Array.from({ length: b + 1 }, (_, c) => c).filter((c) => (groups[groupOf(b)] ?? []).includes(groupOf(c))));
    planted.push(rows);
    for (let i = 0; i < L; i++) {
      for (const g of groups[groupOf(Math.floor(i / block))] ?? []) q[(h * L + i) * D + g] = amplitude;
    }
    for (let j = 0; j < L; j++) {
      k[(h * L + j) * D + groupOf(Math.floor(j / block))] = amplitude;
      for (let d = 0; d < D; d++) v[(h * L + j) * D + d] = Math.cos(j * 0.29 + d);
    }
  }
  return { q: { shape: [H, L, D], data: q }, k: { shape: [H, L, D], data: k }, v: { shape: [H, L, D], data: v }, planted: { blocks: planted } };
}

/** Key blocks a group of plantedBlockGroups holds: as few as keep the groups within D. */
export function blockGroupSize(shape: PlantedShape, block: number): number {
  return Math.ceil(Math.ceil(shape.length / block) / shape.headDim);
}

/**
 * The share of causal softmax attention mass (scale 1/√D, Float64) that falls on the kept pairs, averaged
 * over every query row of every head: 1 when the mask keeps everything attention uses.
 */
export function massRecovered(q: Tensor3, k: Tensor3, maskOf: (head: number) => Bitset): number {
  const [H, Q, D] = q.shape;
  const [KVH, K] = k.shape;
  const scale = 1 / Math.sqrt(D);
  let recovered = 0;
  const logits = new Float64Array(K);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor((h * KVH) / H);
    const mask = maskOf(h);
    for (let i = 0; i < Q; i++) {
      const position = K - Q + i;
      let max = -Infinity;
      for (let j = 0; j <= position; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += (q.data[(h * Q + i) * D + d] ?? 0) * (k.data[(kvh * K + j) * D + d] ?? 0);
        logits[j] = dot * scale;
        max = Math.max(max, dot * scale);
      }
      let all = 0, kept = 0;
      for (let j = 0; j <= position; j++) {
        const p = Math.exp((logits[j] ?? 0) - max);
        all += p;
        if (mask.get(i, j)) kept += p;
      }
      recovered += kept / all;
    }
  }
  return recovered / (H * Q);
}
