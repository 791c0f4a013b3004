import { describe, expect, it } from "vitest";
import { readNpy, writeNpy } from "../util/npy.js";

/** `.npy` reading: what `stipple run --q/--k/--v` accepts, and the one-line reasons it refuses the rest. */
describe("npy", () => {
  const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, at) => at * 0.25 - 1);
  const file = writeNpy([2, 3, 4], data);

  it("reads back what it writes", () => {
    const read = readNpy(file);
    expect(read.shape).toEqual([2, 3, 4]);
    expect(Array.from(read.data)).toEqual(Array.from(data));
  });

  it("refuses a file cut short, with the sizes, before allocating what the header asks for", () => {
    expect(() => readNpy(file.subarray(0, file.length - 1))).toThrow("truncated: its header says shape (2, 3, 4) of <f4, 96 bytes of data, but the file holds 95");
    expect(() => readNpy(file.subarray(0, 40))).toThrow(/^unreadable \.npy header/);
    expect(() => readNpy(file.subarray(0, 11))).toThrow("not a .npy file (bad magic)");
  });

  it("refuses a corrupt or absurd shape, and element types other than float32 and float16", () => {
    // The header edited in place, keeping its length (and so where the data starts).
    const edited = (from: string, to: string): Uint8Array => {
      expect(to.length).toBe(from.length);
      const text = new TextDecoder("latin1").decode(file);
      expect(text).toContain(from);
      return Uint8Array.from(text.replace(from, to), (c) => c.charCodeAt(0));
    };
    expect(() => readNpy(edited("(2, 3, 4)", "(2,-3, 4)"))).toThrow("unreadable .npy shape (2,-3, 4)");
    expect(() => readNpy(edited("(2, 3, 4)", "(2, x, 4)"))).toThrow("unreadable .npy shape (2, x, 4)");
    // A shape asking for 10^16 values is refused by size, not by a failed allocation.
    expect(() => readNpy(edited("(2, 3, 4)", "(1e8,1e8)"))).toThrow("truncated: its header says shape (100000000, 100000000) of <f4, 40000000000000000 bytes of data, but the file holds 96");
    expect(() => readNpy(edited("'<f4'", "'<i4'"))).toThrow("dtype <i4 is not supported: use float32 ('<f4') or float16 ('<f2')");
  });
});
