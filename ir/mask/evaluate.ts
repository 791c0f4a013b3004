import type { Binding, InputLeaf } from "../pattern/binding.js";

import { floorDiv, floorMod } from "../pattern/eval-int.js";
import type { BoolNode } from "../pattern/nodes.js";
import { postOrder } from "../pattern/pattern.js";
import { Bitset } from "./bitset.js";
import { headContext } from "./interpret.js";
import { jsBool } from "./js-predicate.js";

/** Rows × keys above which the evaluator refuses (the bitset alone would take 512 MiB). */
export const maxMaskPairs = 2 ** 32;

type FillRows = (env: FillEnv) => void;

interface FillEnv {
  readonly Q: number; readonly K: number; readonly H: number; readonly KVH: number; readonly L: number;
  readonly h: number; readonly kvh: number; readonly l: number;
  readonly params: ReadonlyMap<string, number>;
  readonly leaves: ReadonlyMap<string, InputLeaf>;
  readonly words: Uint32Array;
  readonly wordsPerRow: number;
  readonly rowStart: number;
  readonly rowEnd: number;
}

const compiled = new Map<BoolNode, FillRows>();

/**
 * The mask evaluator: the exact kept set of one head of one layer, as a bitset of Q rows × K keys. It
 * compiles the pattern once into a JavaScript loop (about a nanosecond per pair), and is tested against the
 * tree-walking definition in interpret.ts. Query row i sits at position q = K − Q + i.
 */
export function evaluateMask(binding: Binding, head = 0, layer = 0, rows?: { start: number; end: number }): Bitset {
  const { Q, K, H, KVH, L } = binding.sizes;
  const bits = new Bitset(Q, K);
  const context = headContext(binding, head, layer);
  const leaves = new Map<string, InputLeaf>();
  for (const node of postOrder(binding.pattern.body)) {
    if (node.kind === "inIndex" || node.kind === "inBlocks" || node.kind === "table" || node.kind === "lookup") {
      leaves.set(node.input.name, context.leaf(node.input));
    }
  }
  fillFunction(binding.pattern.body, [...binding.params.keys()], [...leaves.keys()])({
    Q, K, H, KVH, L, h: head, kvh: context.kvh, l: layer,
    params: binding.params, leaves, words: bits.words, wordsPerRow: bits.wordsPerRow,
    rowStart: rows?.start ?? 0, rowEnd: rows?.end ?? Q,
  });
  return bits;
}

function fillFunction(body: BoolNode, params: readonly string[], inputs: readonly string[]): FillRows {
  const cached = compiled.get(body);
  if (cached !== undefined) return cached;
  const source = [
    '"use strict";',
    "const { Q, K, H, KVH, L, h, kvh, l, words, wordsPerRow, rowStart, rowEnd } = env;",
    ...params.map((name) => `const p_${name} = env.params.get(${JSON.stringify(name)});`),
    ...inputs.map((name) => `const in_${name} = env.leaves.get(${JSON.stringify(name)});`),
    "for (let i = rowStart; i < rowEnd; i++) {",
    "  const q = K - Q + i;",
    "  const base = i * wordsPerRow;",
    "  for (let k = 0; k < K; k++) {",
    `    if (${jsBool(body)}) words[base + (k >>> 5)] |= 1 << (k & 31);`,
    "  }",
    "}",
  ].join("\n");
  const make = new Function("fdiv", "fmod", "hasIndex", "hasBlock", `return function fill(env) {\n${source}\n};`) as (
    ...helpers: unknown[]
  ) => FillRows;
  const fill = make(floorDiv, floorMod, hasIndex, hasBlock);
  compiled.set(body, fill);
  return fill;
}

function hasIndex(leaf: { members: Uint8Array }, value: number): boolean {
  return value >= 0 && value < leaf.members.length && leaf.members[value] === 1;
}

function hasBlock(leaf: { rows: number; cols: number; bits: Uint8Array }, row: number, col: number): boolean {
  return row >= 0 && row < leaf.rows && col >= 0 && col < leaf.cols && leaf.bits[row * leaf.cols + col] === 1;
}
