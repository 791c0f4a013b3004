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
type CountPairs = (env: FillEnv, row: number, kStart: number, kEnd: number) => number;

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

const compiled = new Map<BoolNode, { fill: FillRows; count: CountPairs }>();

/**
 * The mask evaluator: the exact kept set of one head of one layer, as a bitset of Q rows × K keys. It
 * compiles the pattern once into a JavaScript loop (about a nanosecond per pair), and is tested against the
 * tree-walking definition in interpret.ts. Query row i sits at position q = K − Q + i.
 */
export function evaluateMask(binding: Binding, head = 0, layer = 0, rows?: { start: number; end: number }): Bitset {
  const bits = new Bitset(binding.sizes.Q, binding.sizes.K);
  const { env, functions } = prepare(binding, head, layer, bits, rows);
  functions.fill(env);
  return bits;
}

/**
 * Counts kept pairs of one row in keys [kStart, kEnd) without building the mask: for plans over lengths
 * whose mask would not fit in memory. Same compiled predicate as evaluateMask.
 */
export function pairCounter(binding: Binding, head = 0, layer = 0): (row: number, kStart: number, kEnd: number) => number {
  const { env, functions } = prepare(binding, head, layer, new Bitset(0, 0));
  return (row, kStart, kEnd) => functions.count(env, row, kStart, kEnd);
}

function prepare(binding: Binding, head: number, layer: number, bits: Bitset, rows?: { start: number; end: number }) {
  const { Q, K, H, KVH, L } = binding.sizes;
  const context = headContext(binding, head, layer);
  const leaves = new Map<string, InputLeaf>();
  for (const node of postOrder(binding.pattern.body)) {
    if (node.kind === "inIndex" || node.kind === "inBlocks" || node.kind === "table" || node.kind === "lookup") {
      leaves.set(node.input.name, context.leaf(node.input));
    }
  }
  const env: FillEnv = {
    Q, K, H, KVH, L, h: head, kvh: context.kvh, l: layer,
    params: binding.params, leaves, words: bits.words, wordsPerRow: bits.wordsPerRow,
    rowStart: rows?.start ?? 0, rowEnd: rows?.end ?? Q,
  };
  return { env, functions: compileFunctions(binding.pattern.body, [...binding.params.keys()], [...leaves.keys()]) };
}

function compileFunctions(body: BoolNode, params: readonly string[], inputs: readonly string[]): { fill: FillRows; count: CountPairs } {
  const cached = compiled.get(body);
  if (cached !== undefined) return cached;
  const prelude = [
    '"use strict";',
    "const { Q, K, H, KVH, L, h, kvh, l, words, wordsPerRow, rowStart, rowEnd } = env;",
    ...params.map((name) => `const p_${name} = env.params.get(${JSON.stringify(name)});`),
    ...inputs.map((name) => `const in_${name} = env.leaves.get(${JSON.stringify(name)});`),
  ];
  const fill = [
    ...prelude,
    "for (let i = rowStart; i < rowEnd; i++) {",
    "  const q = K - Q + i;",
    "  const base = i * wordsPerRow;",
    "  for (let k = 0; k < K; k++) {",
    `    if (${jsBool(body)}) words[base + (k >>> 5)] |= 1 << (k & 31);`,
    "  }",
    "}",
  ].join("\n");
  const count = [
    ...prelude,
    "const i = row, q = K - Q + row;",
    "let n = 0;",
    "for (let k = kStart; k < kEnd; k++) {",
    `  if (${jsBool(body)}) n++;`,
    "}",
    "return n;",
  ].join("\n");
  const make = new Function("fdiv", "fmod", "hasIndex", "hasBlock",
    `return [function fill(env) {\n${fill}\n}, function count(env, row, kStart, kEnd) {\n${count}\n}];`) as (
    ...helpers: unknown[]
  ) => [FillRows, CountPairs];
  const [fillRows, countPairs] = make(floorDiv, floorMod, hasIndex, hasBlock);
  const functions = { fill: fillRows, count: countPairs };
  compiled.set(body, functions);
  return functions;
}

function hasIndex(leaf: { members: Uint8Array }, value: number): boolean {
  return value >= 0 && value < leaf.members.length && leaf.members[value] === 1;
}

function hasBlock(leaf: { rows: number; cols: number; bits: Uint8Array }, row: number, col: number): boolean {
  return row >= 0 && row < leaf.rows && col >= 0 && col < leaf.cols && leaf.bits[row * leaf.cols + col] === 1;
}
