import { beforeAll, describe, expect, it } from "vitest";
import { openWebGpu, type WebGpuContext } from "../backends/wgsl/device.js";
import { firstDamagedCanary } from "../backends/guard.js";
import { AttentionBuffers } from "../backends/wgsl/run.js";
import { checkCanaryShape, loadExamplePatterns, randomCanaryShape } from "../fuzz/canaries.js";
import { seededRandom } from "../fuzz/random-inputs.js";
import { lowerAttention } from "../passes/lower.js";
import { dynamicExample } from "./dynamic-cases.js";

/**
 * Bounds guard on the software adapter: every buffer a kernel writes (outputs, split partials, tile indexes,
 * estimated inputs) sits between canary regions, checked after every run, on shapes that stress the edges
 * (fuzz/canaries.ts). The long run is `npm run canaries -- --shapes 1000`; CI runs this share.
 */
let gpu: WebGpuContext;
beforeAll(async () => {
  // Robustness off: an out-of-bounds write must reach the canaries, not be clamped away by Dawn.
  gpu = await openWebGpu("auto", { robust: false });
}, 60_000);

describe("bounds guard", () => {
  it("detects a damaged canary", () => {
    const words = new Uint32Array(10).fill(0xdeadbeef);
    expect(firstDamagedCanary(words, 2)).toBeUndefined();
    words[9] = 0;
    expect(firstDamagedCanary(words, 2)).toBe(9);
  });

  it("checks the canaries of tile indexes and runtime inputs too, naming the buffer", async () => {
    const binding = dynamicExample("block_sparse", { qLen: 40, kvLen: 40, heads: 1, kvHeads: 1 }, 16, 5);
    const [launch] = lowerAttention(binding, 0, { headDim: 32, dtype: "f32", blockM: 16, blockN: 16 });
    if (launch === undefined) throw new Error("no launch");
    const tensor = new Float32Array(40 * 32);
    for (const [buffer, name] of [["tileIndex", "tile index"], ["aux", "runtime inputs"]] as const) {
      const buffers = new AttentionBuffers(gpu, { q: tensor, k: tensor, v: tensor }, binding.sizes, launch.kernel, true);
      const written = buffer === "tileIndex" ? buffers.tileIndexFor(launch) : buffers.auxFor(launch);
      await expect(buffers.checkCanaries()).resolves.toBeUndefined();
      gpu.device.queue.writeBuffer(written, 0, new Uint32Array([1]));
      await expect(buffers.checkCanaries()).rejects.toThrow(new RegExp(`outside \`${name}`));
      buffers.destroy();
    }
  });

  it("kernels never write outside their buffers and agree with the reference, on random edge shapes of every example", async () => {
    const examples = loadExamplePatterns();
    const problems: string[] = [];
    for (let n = 0; n < 16; n++) {
      const random = seededRandom(4242 * 1_000_003 + n);
      const shape = randomCanaryShape(random, examples);
      const problem = await checkCanaryShape(gpu, shape, examples, random);
      if (problem !== undefined) problems.push(`${JSON.stringify(shape)}: ${problem}`);
    }
    expect(problems).toEqual([]);
  }, 120_000);
});
