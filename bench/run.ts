import { runPlanScaling } from "./plan-scaling.js";
import { runWgslStatic } from "./wgsl-static.js";

/**
 * `npm run bench [-- plan|wgsl]`: the benchmarks, each writing bench/results/NAME.json. Every figure is a
 * ratio measured side by side in one run; absolute times only mean something with the adapter named.
 */
const only = process.argv[2];
if (only === undefined || only === "plan") runPlanScaling();
if (only === undefined || only === "wgsl") await runWgslStatic();
process.exit(0);
