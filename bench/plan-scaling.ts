import { writeFileSync } from "node:fs";
import { bindPattern } from "../compiler/bind.js";
import { nodeHost } from "../compiler/node-host.js";
import { compileProgram } from "../compiler/program.js";
import { closedFormPlan } from "../passes/plan.js";
import { regionsOf } from "../passes/regions.js";
import { simplify } from "../passes/simplify.js";
import { specialize } from "../passes/specialize.js";
import { provenance, time, type Timing } from "./measure.js";

/**
 * Planning cost of the static examples against sequence length. The closed form (specialize → simplify →
 * regions: the formulas a kernel evaluates) should not grow with length; listing every tile's segments
 * (what `stipple plan --format json` prints) grows with the number of tiles, as any listing must.
 */
const examples: readonly [string, Record<string, unknown>][] = [
  ["a_shape", {}], ["sliding_window", {}], ["tri_shape", {}], ["dilated", {}], ["prefix_lm", {}], ["grid", {}], ["ladder", {}],
  ["duo", { retrieval: [[0]] }],
];
const lengths = [4096, 65536, 1048576];

interface Row {
  readonly pattern: string;
  readonly length: number;
  readonly closedForm: Timing;
  readonly allTiles: Timing;
  readonly metadataBytes: number;
}

export function runPlanScaling(): void {
  const rows: Row[] = [];
  for (const [name, inputs] of examples) {
    const pattern = compileProgram([`examples/${name}.stip`], nodeHost).patterns.get(name);
    if (pattern === undefined) throw new Error(`example ${name} does not check`);
    for (const length of lengths) {
      const bound = bindPattern(pattern, { shape: { qLen: length, kvLen: length }, inputs: new Map(Object.entries(inputs)) });
      if (!bound.ok) throw new Error(`cannot bind ${name}`);
      const binding = bound.value;
      const form = () => regionsOf(simplify(specialize(binding, { head: 0, layer: 0 })), binding.sizes);
      const closedForm = time(form);
      const regions = form();
      const schedule = { blockM: 64, blockN: 64 };
      const allTiles = time(() => closedFormPlan(regions, binding.sizes, schedule), 3);
      rows.push({ pattern: name, length, closedForm, allTiles, metadataBytes: closedFormPlan(regions, binding.sizes, schedule).metadataBytes });
      process.stdout.write(`plan ${name.padEnd(15)} L = ${String(length).padStart(8)}: closed form ${closedForm.medianMs.toFixed(3)} ms, all ${Math.ceil(length / 64)} tiles ${allTiles.medianMs.toFixed(1)} ms, metadata ${rows.at(-1)?.metadataBytes ?? 0} B\n`);
    }
  }
  const file = "bench/results/plan-scaling.json";
  writeFileSync(file, JSON.stringify({ ...provenance(), machine: "CPU only (no GPU involved)", tiles: "64 x 64", rows }, null, 2) + "\n");
  process.stdout.write(`wrote ${file}\n`);
}
