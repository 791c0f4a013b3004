import type { AuxData } from "../ir/kernel/kernel.js";
import type { Binding } from "../ir/pattern/binding.js";
import type { InputRef } from "../ir/pattern/nodes.js";

/**
 * Packs the runtime inputs a dynamic kernel reads into one u32 buffer, leaf by leaf (a leaf per head, KV head
 * or layer, row-major over the input's axes): index lists and `bool` tables as bitmaps, block sets as
 * row-major bitmaps, ids as i32 words. It opens with a directory of four words per input (base word, words
 * per leaf, rows, columns): one buffer, because a compute stage may bind only 8 storage buffers by default.
 * No plan: the device index builder derives the tile index from these words.
 */
export function packDeviceInputs(binding: Binding, inputs: readonly InputRef[]): AuxData {
  const directory: number[] = [];
  const words: number[] = [];
  const directoryWords = 4 * inputs.length;
  for (const ref of inputs) {
    const bound = binding.inputs.get(ref.name);
    if (bound === undefined) throw new Error(`runtime input ${ref.name} is not bound`);
    const leaves = bound.ref.dims.filter((d) => d !== "K").reduce((n, axis) => n * binding.sizes[axis], 1);
    const base = directoryWords + words.length;
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
  return { words: Uint32Array.from([...directory, ...words, 0]) };
}

function pushBits(words: number[], count: number, isSet: (at: number) => boolean): void {
  for (let w = 0; w < Math.ceil(count / 32); w++) {
    let word = 0;
    for (let b = 0; b < 32 && w * 32 + b < count; b++) if (isSet(w * 32 + b)) word |= 1 << b;
    words.push(word >>> 0);
  }
}

