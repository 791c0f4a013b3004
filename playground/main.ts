import { runAttention } from "../backends/wgsl/run.js";
import { emitWgsl } from "../backends/wgsl/emit.js";
import { defaultBlockM, defaultBlockN } from "../backends/wgsl/schedule.js";
import { bindPattern } from "../compiler/bind.js";
import { memoryHost } from "../compiler/load.js";
import { compileProgram, selectPattern } from "../compiler/program.js";
import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import { renderDiagnostics } from "../diagnostics/render.js";
import { evaluateMask } from "../ir/mask/evaluate.js";
import type { Binding } from "../ir/pattern/binding.js";
import type { Figure } from "../ir/picture/figure.js";
import { maskFigure, planFigure } from "../ir/picture/pictures.js";
import type { PatternDef } from "../ir/pattern/pattern.js";
import { denseAttention } from "../ir/reference/dense-attention.js";
import { compareOutputs, outputTolerance } from "../ir/reference/tolerance.js";
import { planStats } from "../ir/plan/stats.js";
import { lowerAttention } from "../passes/lower.js";
import { planPattern } from "../passes/plan.js";
import { openBrowserGpu } from "./gpu.js";
import { randomInputs, seededRandom } from "../fuzz/random-inputs.js";

/**
 * The playground: edit a pattern, see its diagnostics, mask, block plan and WGSL as you type, and run the
 * kernel on navigator.gpu against the Float64 dense reference. Everything runs in the page; the compiler
 * modules are the same ones the CLI uses.
 */
const exampleFiles = import.meta.glob("../examples/*.stip", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
const examples = new Map(Object.entries(exampleFiles).map(([path, text]) => [path.split("/").pop() ?? path, text]));
const entry = "playground.stip";

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`missing #${id}`);
  return found as T;
};
const source = element<HTMLTextAreaElement>("source");
const exampleSelect = element<HTMLSelectElement>("example");
const diagnosticsView = element<HTMLPreElement>("diagnostics");
const paramsView = element<HTMLSpanElement>("params");
const runButton = element<HTMLButtonElement>("run");
const result = element<HTMLDivElement>("result");
const number = (id: string): number => Number(element<HTMLInputElement | HTMLSelectElement>(id).value);

/** The last good compile: what the run button runs. */
let current: { binding: Binding; headDim: number } | undefined;
const gpu = openBrowserGpu();

for (const name of examples.keys()) exampleSelect.add(new Option(name.replace(/\.stip$/, ""), name));
exampleSelect.value = "a_shape.stip";
source.value = examples.get("a_shape.stip") ?? "";

function showDiagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, { path: string; text: string; lineStarts: readonly number[] }>): void {
  diagnosticsView.textContent = diagnostics.length === 0 ? "no diagnostics" : renderDiagnostics(diagnostics, (path) => sources.get(path));
  diagnosticsView.classList.toggle("ok", !hasErrors(diagnostics));
}

/** Parameter boxes for the selected pattern, keeping the values typed so far. */
function paramInputs(pattern: PatternDef): Map<string, number> {
  const known = new Set(pattern.params.map((p) => p.name));
  for (const box of [...paramsView.querySelectorAll("input")]) if (!known.has(box.name)) box.parentElement?.remove();
  const values = new Map<string, number>();
  for (const p of pattern.params) {
    let box = paramsView.querySelector<HTMLInputElement>(`input[name="${p.name}"]`);
    if (box === null) {
      const label = document.createElement("label");
      label.textContent = `${p.name} `;
      box = document.createElement("input");
      box.type = "number";
      box.name = p.name;
      box.value = String(Math.min(p.default ?? p.min ?? 1, 32));
      box.addEventListener("input", update);
      label.append(box);
      paramsView.append(label);
    }
    values.set(p.name, Number(box.value));
  }
  return values;
}

function update(): void {
  current = undefined;
  runButton.disabled = true;
  const program = compileProgram([entry], memoryHost(new Map([...examples, [entry, source.value]])));
  if (hasErrors(program.diagnostics)) return showDiagnostics(program.diagnostics, program.sources);
  const pattern = selectPattern(program, entry, undefined);
  if ("code" in pattern) return showDiagnostics([pattern], program.sources);
  const shape = { qLen: number("q-len"), kvLen: number("kv-len"), heads: number("heads"), kvHeads: 1 };
  const params = paramInputs(pattern);
  // Dynamic patterns get random runtime inputs (the same ones on every edit).
  const bound = bindPattern(pattern, { shape, params, inputs: randomInputs(pattern, params, shape, seededRandom(1)) });
  showDiagnostics([...program.diagnostics, ...bound.diagnostics], program.sources);
  if (!bound.ok) return;
  const headDim = number("head-dim");
  const schedule = { blockM: defaultBlockM, blockN: defaultBlockN(headDim) };
  const { plan, regions } = planPattern(bound.value, { head: 0, layer: 0 }, schedule);
  const stats = planStats(plan, regions, bound.value, 0, 0, headDim);
  // The CLI's pictures, cell for cell (ir/picture/pictures.ts), drawn on canvases.
  draw("mask", maskFigure(bound.value, 0, 0, plan, stats, 256));
  draw("plan", planFigure(bound.value, 0, 0, plan, stats, 256));
  element("mask-caption").textContent = `mask of head 0: density ${(100 * stats.density).toFixed(2)} %`;
  element("plan-caption").textContent = `plan (${schedule.blockM} × ${schedule.blockN} tiles): green full, orange masked, white skipped; tile efficiency ${(100 * stats.tileEfficiency).toFixed(1)} %`;
  element("wgsl").textContent = lowerAttention(bound.value, 0, { headDim, dtype: "f32", ...schedule }).map((launch) => emitWgsl(launch.kernel)).join("\n");
  current = { binding: bound.value, headDim };
  runButton.disabled = false;
}

function draw(id: string, figure: Figure): void {
  const { cols, rows, colour } = figure.cells;
  const canvas = element<HTMLCanvasElement>(id);
  canvas.width = cols;
  canvas.height = rows;
  const context = canvas.getContext("2d");
  if (context === null) return;
  const image = context.createImageData(cols, rows);
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) image.data.set([...colour(col, row), 255], (row * cols + col) * 4);
  }
  context.putImageData(image, 0, 0);
}

/** Runs the kernel on random q, k, v and compares with the reference; the page reports it in #result. */
async function run(): Promise<void> {
  if (current === undefined) return;
  const { binding, headDim } = current;
  result.dataset["state"] = "running";
  result.textContent = "running…";
  try {
    const context = await gpu;
    const { Q, K, H, KVH } = binding.sizes;
    const random = seededRandom(7);
    const tensor = (length: number): Float32Array => Float32Array.from({ length }, () => (random(2001) - 1000) / 1000);
    const q = tensor(H * Q * headDim), k = tensor(KVH * K * headDim), v = tensor(KVH * K * headDim);
    const launches = lowerAttention(binding, 0, { headDim, dtype: "f32", blockM: defaultBlockM, blockN: defaultBlockN(headDim) });
    const start = performance.now();
    const { out } = await runAttention(context, launches, { q, k, v }, binding.sizes, { guard: true });
    const ms = performance.now() - start;
    const reference = denseAttention({ q: { shape: [H, Q, headDim], data: q }, k: { shape: [KVH, K, headDim], data: k }, v: { shape: [KVH, K, headDim], data: v }, maskOf: (head) => evaluateMask(binding, head, 0) });
    const { maxAbsError, scale } = compareOutputs(reference.out, out);
    const pass = maxAbsError / scale <= outputTolerance.f32;
    Object.assign(result.dataset, { state: "done", pass: String(pass), maxAbsError: String(maxAbsError), scale: String(scale), tolerance: String(outputTolerance.f32) });
    result.textContent = `${binding.pattern.name} on ${context.description}: ${ms.toFixed(1)} ms; max abs error ${maxAbsError.toExponential(2)} (scale ${scale.toFixed(2)}, tolerance ${outputTolerance.f32} of the scale): ${pass ? "pass" : "FAIL"}`;
    // For the Chromium test: the run's tensors, so it can check the output against its own reference.
    (window as unknown as { stippleLastRun: unknown }).stippleLastRun = { source: source.value, params: Object.fromEntries(binding.params), sizes: binding.sizes, headDim, q: [...q], k: [...k], v: [...v], out: [...out] };
  } catch (error) {
    Object.assign(result.dataset, { state: "error", pass: "false" });
    result.textContent = error instanceof Error ? error.message : String(error);
  }
}

gpu.then((context) => { element("adapter").textContent = `WebGPU: ${context.description}`; }, (error: unknown) => {
  element("adapter").textContent = `no WebGPU adapter: ${error instanceof Error ? error.message : String(error)}`;
});
exampleSelect.addEventListener("change", () => {
  source.value = examples.get(exampleSelect.value) ?? "";
  update();
});
for (const id of ["q-len", "kv-len", "heads", "head-dim"]) element(id).addEventListener("input", update);
source.addEventListener("input", update);
runButton.addEventListener("click", () => void run());
update();
document.body.dataset["ready"] = "true";
