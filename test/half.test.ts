import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat, roundedTo, toHalfWords } from "../util/half.js";

/**
 * Host rounding to f16 and bf16 must match the GPU's `cvt.rn` (nearest, ties to even) bit for bit: the CUDA
 * runtime rounds q, k, v with it, and the reference it is checked against sees the same rounded values.
 * Checked exhaustively over all 65536 words: each word round-trips, and each midpoint between neighbours
 * goes to the even one (just off the midpoint, to the nearer one).
 */
const formats = [
  { name: "f16", toWord: floatToHalf, toFloat: halfToFloat, maxFinite: 0x7bff },
  { name: "bf16", toWord: floatToBfloat16, toFloat: bfloat16ToFloat, maxFinite: 0x7f7f },
] as const;

const f32 = Math.fround;
/** The f32 whose bits are one more / one less than x's: the next larger / smaller magnitude. */
function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  view.setUint32(0, view.getUint32(0) + 1);
  return view.getFloat32(0);
}
function nextDown(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  view.setUint32(0, view.getUint32(0) - 1);
  return view.getFloat32(0);
}

describe("16-bit rounding on the host", () => {
  for (const format of formats) {
    it(`${format.name}: every word round-trips; midpoints go to the even word, points beside them to the nearer`, () => {
      for (let word = 0; word <= 0xffff; word++) {
        const value = format.toFloat(word);
        if (Number.isNaN(value)) {
          expect(Number.isNaN(format.toFloat(format.toWord(value)))).toBe(true);
          continue;
        }
        expect(format.toWord(value)).toBe(word);
        const magnitude = word & 0x7fff;
        if (magnitude >= format.maxFinite) continue;
        const above = format.toFloat(word + 1);
        const midpoint = f32((value + above) / 2);
        expect(midpoint).toBe((value + above) / 2);
        const even = (word & 1) === 0 ? word : word + 1;
        expect(format.toWord(midpoint), `midpoint after ${word.toString(16)}`).toBe(even);
        // Neighbours in bit order: one less magnitude is toward `value`, one more toward `above` (either sign).
        const toward = nextDown(midpoint), away = nextUp(midpoint);
        expect(format.toWord(toward)).toBe(word);
        expect(format.toWord(away)).toBe(word + 1);
      }
    });

    it(`${format.name}: the rounded value is never farther than half a step (random f32 values)`, () => {
      fc.assert(
        fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: -60000, max: 60000 }), (x) => {
          const word = format.toWord(x);
          const rounded = format.toFloat(word);
          const neighbour = format.toFloat((word & 0x7fff) === 0 ? 1 : word + 1);
          const previous = (word & 0x7fff) === 0 ? rounded : format.toFloat(word - 1);
          const step = Math.max(Math.abs(neighbour - rounded), Math.abs(rounded - previous));
          expect(Math.abs(x - rounded)).toBeLessThanOrEqual(step / 2);
        }),
        { numRuns: 2000 },
      );
    });
  }

  it("overflow gives infinity, tiny values zero, signs are kept", () => {
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(-1e6)).toBe(0xfc00);
    expect(floatToHalf(65520)).toBe(0x7c00); // halfway between 65504 and 65536 (the next, infinite, step): to even
    expect(floatToHalf(1e-9)).toBe(0);
    expect(floatToHalf(-1e-9)).toBe(0x8000);
    expect(floatToBfloat16(3.5e38)).toBe(0x7f80);
    expect(floatToBfloat16(-1)).toBe(0xbf80);
  });

  it("whole tensors (toHalfWords, roundedTo, which read the f32 bits in place) round as the scalar conversions do", () => {
    for (const format of formats) {
      // Every word's value, its midpoints with the next word, and values off the format's range, inside a
      // larger buffer: a view with an offset must read its own elements.
      const values: number[] = [1e6, -1e6, 1e-9, -1e-9, 3.5e38, Number.NaN, Infinity, -Infinity];
      for (let word = 0; word < 0xffff; word++) values.push(format.toFloat(word), f32((format.toFloat(word) + format.toFloat(word + 1)) / 2));
      const buffer = new Float32Array(values.length + 3);
      buffer.set(values, 2);
      const tensor = buffer.subarray(2, 2 + values.length);
      const words = toHalfWords(tensor, format.name);
      const rounded = roundedTo(tensor, format.name);
      values.forEach((x, at) => {
        const word = format.toWord(x);
        if (words[at] !== word) expect(words[at], `${format.name} word of ${x}`).toBe(word);
        const back = format.toFloat(word);
        if (!Object.is(rounded[at], f32(back)) && !(Number.isNaN(back) && Number.isNaN(rounded[at]))) expect(rounded[at], `${format.name} value of ${x}`).toBe(f32(back));
      });
    }
  });
});
