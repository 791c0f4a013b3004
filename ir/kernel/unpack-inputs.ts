import type { Sizes } from "../pattern/eval-int.js";
import type { InputRef } from "../pattern/nodes.js";

/**
 * The inverse of packDeviceInputs (passes/device-inputs.ts), for inputs an estimator wrote on the device:
 * the packed words back to the JSON shapes `stipple run --input` takes (nested by the input's head/layer
 * axes), so a run can report what was chosen and the reference can check the kernel on exactly that mask.
 */
export function unpackDeviceInputs(words: Uint32Array, inputs: readonly InputRef[], sizes: Sizes): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  inputs.forEach((ref, slot) => {
    const [base = 0, stride = 0, rows = 0, cols = 0] = words.subarray(4 * slot, 4 * slot + 4);
    const bit = (leaf: number, at: number): number => ((words[base + leaf * stride + Math.floor(at / 32)] ?? 0) >>> (at % 32)) & 1;
    const leafValue = (leaf: number): unknown => {
      switch (ref.kind) {
        case "index": return Array.from({ length: cols }, (_, at) => at).filter((at) => bit(leaf, at) === 1);
        case "blocks": return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => bit(leaf, r * cols + c)));
        case "bool": return words[base + leaf] === 0 ? 0 : 1;
        case "ids": return Array.from(words.subarray(base, base + cols), (w) => w | 0);
      }
    };
    const axes = ref.dims.filter((axis) => axis !== "K").map((axis) => sizes[axis]);
    let leaf = 0;
    const nest = (depth: number): unknown => (depth === axes.length ? leafValue(leaf++) : Array.from({ length: axes[depth] ?? 0 }, () => nest(depth + 1)));
    result[ref.name] = nest(0);
  });
  return result;
}