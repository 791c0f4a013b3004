import type { LaunchShape } from "../compiler/bind.js";
import { sizesOf } from "../compiler/bind.js";
import { evalConstant, type Sizes } from "../ir/pattern/eval-int.js";
import type { InputRef } from "../ir/pattern/nodes.js";
import type { PatternDef } from "../ir/pattern/pattern.js";

/** A deterministic stream of integers below a bound. */
export type Random = (below: number) => number;

/** Mulberry32: neighbouring seeds give unrelated streams (an LCG's first draws would follow the seed). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    return below <= 1 ? 0 : Math.floor(unit * below);
  };
}

/** Small launch shapes with Q ≤ K, H a multiple of KVH, one or two layers: every pair can be checked. */
export function randomShape(random: Random, maxLength: number): LaunchShape {
  const kvLen = 1 + random(maxLength);
  const qLen = [kvLen, 1, 1 + random(kvLen)][random(3)] ?? kvLen;
  const kvHeads = [1, 2][random(2)] ?? 1;
  return { qLen, kvLen, kvHeads, heads: kvHeads * (1 + random(2)), layers: 1 + random(2) };
}

/**
 * Parameter values: the default where there is one (three times in four), else a value in the declared range
 * near its lower end, so divisors declared `int(1..)` stay positive and lengths stay small.
 */
export function randomParams(pattern: PatternDef, random: Random): Map<string, number> {
  const params = new Map<string, number>();
  for (const p of pattern.params) {
    if (p.default !== undefined && random(4) !== 0) continue;
    const low = p.min ?? Math.min(0, p.max ?? 0);
    const high = Math.max(low, Math.min(p.max ?? low + 40, low + 40));
    params.set(p.name, low + random(high - low + 1));
  }
  return params;
}

/** Raw runtime inputs (the JSON shapes `--input` takes) for every input the pattern declares. */
export function randomInputs(pattern: PatternDef, params: ReadonlyMap<string, number>, shape: LaunchShape, random: Random): Map<string, unknown> {
  const sizes = sizesOf(shape);
  const full = new Map(pattern.params.flatMap((p) => {
    const value = params.get(p.name) ?? p.default;
    return value === undefined ? [] : [[p.name, value] as const];
  }));
  return new Map(pattern.inputs.map(({ ref }) => [ref.name, randomInput(ref, full, sizes, random)]));
}

function randomInput(ref: InputRef, params: ReadonlyMap<string, number>, sizes: Sizes, random: Random): unknown {
  if (ref.kind === "ids") {
    const cuts = Array.from({ length: random(4) }, () => random(sizes.K)).sort((a, b) => a - b);
    return Array.from({ length: sizes.K }, (_, k) => cuts.filter((c) => c <= k).length);
  }
  const leaf = (): unknown => {
    switch (ref.kind) {
      case "bool":
        return random(2);
      case "index":
        return Array.from({ length: random(6) }, () => random(sizes.K));
      case "blocks": {
        const [rowSize, colSize] = ref.blockSize ?? [];
        const rows = blockCount(rowSize === undefined ? 0 : safeConstant(() => evalConstant(rowSize, params, sizes)), sizes.Q);
        const cols = blockCount(colSize === undefined ? 0 : safeConstant(() => evalConstant(colSize, params, sizes)), sizes.K);
        return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (random(3) === 0 ? 1 : 0)));
      }
      case "ids":
        return [];
    }
  };
  const nest = (depth: number): unknown => {
    const axis = ref.dims[depth];
    if (axis === undefined || axis === "K") return leaf();
    return Array.from({ length: sizes[axis] }, () => nest(depth + 1));
  };
  return nest(0);
}

/** ⌈length / size⌉ blocks, or one block where the size is not a usable positive number (bind reports it). */
function blockCount(size: number, length: number): number {
  return Number.isFinite(size) && size >= 1 ? Math.ceil(length / size) : 1;
}

/** A block size that cannot be evaluated (an unbound parameter) is left to bind, which reports it. */
function safeConstant(evaluate: () => number): number {
  try {
    return evaluate();
  } catch {
    return 0;
  }
}
