import { readFileSync, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { extname, join, normalize } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindPattern } from "../compiler/bind.js";
import { memoryHost } from "../compiler/load.js";
import { compileProgram } from "../compiler/program.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs } from "../ir/reference/tolerance.js";
import { chromiumPath, chromiumWebGpuFlags } from "./chromium.js";

/**
 * The browser playground, driven in headless Chromium (Debian's package; WebGPU on its SwiftShader adapter)
 * through Playwright: it must compile the example, draw the mask and plan, run the kernel on navigator.gpu,
 * report an error bound within tolerance, and the output it computed must match a reference computed here.
 */
const root = "playground/dist";
let server: Server;
let browser: Browser;
let url = "";

beforeAll(async () => {
  if (!existsSync(join(root, "index.html"))) throw new Error(`${root} is missing: run \`npm run build:playground\` first (npm test does)`);
  server = createServer((request, response) => {
    const path = normalize(join(root, decodeURIComponent((request.url ?? "/").split("?")[0] ?? "/")));
    const file = path.startsWith(root) && existsSync(path) && statSync(path).isFile() ? path : join(root, "index.html");
    const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
    response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/`;
  browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumWebGpuFlags });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

describe("playground in headless Chromium", () => {
  it("runs the kernel on navigator.gpu, within tolerance of the reference, and draws the mask", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(url);
    await page.waitForSelector("body[data-ready=true]");
    // Page-side code is passed as text: this test is compiled without the DOM's types.
    await page.waitForFunction("document.getElementById('adapter')?.textContent?.startsWith('WebGPU:') === true", undefined, { timeout: 30_000 });
    expect(await page.textContent("#diagnostics")).toBe("no diagnostics");
    expect(await page.textContent("#wgsl")).toContain("fn keeps(");
    await page.click("#run");
    await page.waitForSelector("#result[data-state=done]", { timeout: 60_000 });
    const reported = await page.evaluate<Record<string, string>>("({ ...document.getElementById('result').dataset })");
    expect(reported["pass"]).toBe("true");
    expect(Number(reported["maxAbsError"]) / Number(reported["scale"])).toBeLessThanOrEqual(Number(reported["tolerance"]));

    // Do not take the page's word for it: recompute the reference here from the tensors it ran.
    const run = await page.evaluate<{ source: string; params: Record<string, number>; sizes: { Q: number; K: number; H: number; KVH: number }; headDim: number; q: number[]; k: number[]; v: number[]; out: number[] }>("window.stippleLastRun");
    const program = compileProgram(["p.stip"], memoryHost({ "p.stip": run.source }));
    const pattern = [...program.patterns.values()][0];
    if (pattern === undefined) throw new Error("the page's pattern does not check here");
    const bound = bindPattern(pattern, { shape: { qLen: run.sizes.Q, kvLen: run.sizes.K, heads: run.sizes.H, kvHeads: run.sizes.KVH }, params: new Map(Object.entries(run.params)) });
    if (!bound.ok) throw new Error("the page's binding does not bind here");
    const { Q, K, H, KVH } = run.sizes, D = run.headDim;
    const reference = denseAttention({
      q: { shape: [H, Q, D], data: Float32Array.from(run.q) }, k: { shape: [KVH, K, D], data: Float32Array.from(run.k) }, v: { shape: [KVH, K, D], data: Float32Array.from(run.v) },
      maskOf: (head) => evaluateMask(bound.value, head, 0),
    });
    const { maxAbsError, scale } = compareOutputs(reference.out, Float32Array.from(run.out));
    expect(maxAbsError / scale).toBeLessThanOrEqual(1e-4);

    // The mask canvas shows the pattern: ink at (row 0, key 0) (a sink), white far off the diagonal.
    const pixels = await page.evaluate<{ sink: number[]; off: number[] }>(`(() => {
      const canvas = document.getElementById("mask");
      const context = canvas.getContext("2d");
      const at = (x, y) => Array.from(context.getImageData(x, y, 1, 1).data);
      return { sink: at(0, canvas.height - 1), off: at(canvas.width - 1, 0) };
    })()`);
    expect(pixels.sink.slice(0, 3)).toEqual([30, 60, 140]);
    expect(pixels.off.slice(0, 3)).toEqual([255, 255, 255]);
    const screenshot = await page.screenshot({ fullPage: true });
    expect(screenshot.subarray(1, 4).toString()).toBe("PNG");
    expect(screenshot.length).toBeGreaterThan(20_000);
    expect(errors).toEqual([]);
  }, 120_000);

  it("shows diagnostics inline for a broken pattern, and runs nothing", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector("body[data-ready=true]");
    await page.fill("#source", "pattern broken(window: int(0..) = 4) = causal & q - k < windw\n");
    await page.waitForFunction("document.getElementById('diagnostics')?.textContent?.includes('STP101') === true");
    const text = await page.textContent("#diagnostics");
    expect(text).toContain("playground.stip:1:");
    expect(text).toContain("did you mean `window`?");
    expect(await page.isDisabled("#run")).toBe(true);
  }, 60_000);
});
