import { describe, expect, it } from "vitest";
import { settle } from "../backends/wgsl/settle.js";

/**
 * settle relaxes Dawn's polling: native callbacks queued with setImmediate while it waits run through
 * setTimeout instead; JavaScript callbacks keep setImmediate; the original is back once every wait is over.
 */
describe("settle", () => {
  // A native function, as Dawn's tick is (its source reads "[native code]").
  const native = Math.max.bind(null);

  it("delays native immediates only while waiting, and restores setImmediate after", async () => {
    const before = globalThis.setImmediate;
    const seen: string[] = [];
    await settle(async () => {
      expect(globalThis.setImmediate).not.toBe(before);
      const handle = setImmediate(native) as unknown;
      // setTimeout's handle (a Timeout) has refresh(); setImmediate's (an Immediate) does not.
      expect(typeof (handle as { refresh?: unknown }).refresh).toBe("function");
      const own = setImmediate(() => seen.push("js")) as unknown;
      expect(typeof (own as { refresh?: unknown }).refresh).toBe("undefined");
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    expect(seen).toEqual(["js"]);
    expect(globalThis.setImmediate).toBe(before);
  });

  it("restores setImmediate when the wait fails, and only after the last of overlapping waits", async () => {
    const before = globalThis.setImmediate;
    let release = (): void => undefined;
    const long = settle(() => new Promise<void>((resolve) => { release = resolve; }));
    await expect(settle(() => Promise.reject(new Error("lost device")))).rejects.toThrow("lost device");
    expect(globalThis.setImmediate).not.toBe(before);
    release();
    await long;
    expect(globalThis.setImmediate).toBe(before);
  });
});
