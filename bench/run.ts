import { runPlanScaling } from "./plan-scaling.js";

/** `npm run bench`: every benchmark, each writing bench/results/NAME.json. Figures are ratios from one run. */
runPlanScaling();
