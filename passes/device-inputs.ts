import type { AuxData } from "../ir/kernel/kernel.js";
import type { Binding } from "../ir/pattern/binding.js";
import type { InputRef } from "../ir/pattern/nodes.js";
import type { Schedule } from "../ir/plan/plan.js";
import { indexPlan, maskForIndex } from "./plan.js";

/**
 * Packs what a dynamic kernel reads besides q, k, v into one u32 buffer and a directory:
 * - each runtime input, leaf by leaf (a leaf per head, KV head or layer, row-major over the input's axes):
 *   index lists and `bool` tables as bitmaps, block sets as row-major bitmaps, ids as i32 words;
 * - the index plan: per head, ⌈Q/BM⌉ + 1 offsets into a list of segments (start tile | full << 31, end tile).
 * Directory: four words per input (base, words per leaf, rows, columns), then (offsets base, segments base).
 * The plan comes from the reference index builder (passes/plan.ts) on the host; device builders follow.
 */
export function packDeviceInputs(binding: Binding, inputs: readonly InputRef[], layer: number, schedule: Schedule): AuxData {
  const words: number[] = [];
  const directory: number[] = [];
  for (const ref of inputs) {
    const bound = binding.inputs.get(ref.name);
    if (bound === undefined) throw new Error(`runtime input ${ref.name} is not bound`);
    const leaves = bound.ref.dims.filter((d) => d !== "K").reduce((n, axis) => n * binding.sizes[axis], 1);
    const base = words.length;
    let stride = 0, rows = 0, cols = 0;
    for (let leafIndex = 0; leafIndex < leaves; leafIndex++) {
      const leaf = bound.leaves[leafIndex];
      if (leaf === undefined) throw new Error(`input ${ref.name} lacks leaf ${leafIndex}`);
      const start = words.length;
      switch (leaf.kind) {
        case "index":
          pushBits(words, leaf.members.length, (at) => leaf.members[at] === 1);
          rows = 1; cols = leaf.members.length;
          break;
        case "blocks":
          pushBits(words, leaf.rows * leaf.cols, (at) => leaf.bits[at] === 1);
          rows = leaf.rows; cols = leaf.cols;
          break;
        case "bool":
          words.push(leaf.value ? 1 : 0);
          rows = 1; cols = 1;
          break;
        case "ids":
          for (const id of leaf.ids) words.push(id >>> 0);
          rows = 1; cols = leaf.ids.length;
          break;
      }
      stride = words.length - start;
    }
    directory.push(base, stride, rows, cols);
  }
  const offsetsBase = words.length;
  const segments: number[] = [];
  for (let head = 0; head < binding.sizes.H; head++) {
    const plan = indexPlan(maskForIndex(binding, { head, layer }), binding.sizes, schedule);
    for (const tile of plan.tiles) {
      words.push(segments.length / 2);
      for (const s of tile.segments) {
        segments.push(((s.kStart / schedule.blockN) | (s.full ? 0x80000000 : 0)) >>> 0, Math.ceil(s.kEnd / schedule.blockN));
      }
    }
    words.push(segments.length / 2);
  }
  const segmentsBase = words.length;
  words.push(...segments);
  directory.push(offsetsBase, segmentsBase);
  return { words: Uint32Array.from(words), directory: Uint32Array.from(directory) };
}

function pushBits(words: number[], count: number, isSet: (at: number) => boolean): void {
  for (let w = 0; w < Math.ceil(count / 32); w++) {
    let word = 0;
    for (let b = 0; b < 32 && w * 32 + b < count; b++) if (isSet(w * 32 + b)) word |= 1 << b;
    words.push(word >>> 0);
  }
}

