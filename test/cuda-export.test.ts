import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { emitCuda } from "../backends/cuda/emit.js";
import { kernelParameters } from "../backends/cuda/signature.js";
import { cudaLowering } from "../backends/cuda/schedule.js";
import { lowerAttention } from "../passes/lower.js";
import { benchmarkCases } from "../bench/cuda-export.js";
import { dynamicExample } from "./dynamic-cases.js";

/**
 * The GPU benchmark launches Stipple's PTX from Python (bench/gpu/compare_flex.py, through CuPy), by the
 * parameter names the manifest lists. Here python3 (no torch or CuPy needed) builds the argument list of
 * every benchmark kernel with bench/gpu/launch_args.py, which must give each parameter the value the kernel
 * expects, in the kernel's own order.
 */
const harness = `
import json, sys
sys.path.insert(0, "bench/gpu")
from launch_args import launch_arguments, static_prefill_values
request = json.loads(sys.stdin.read())
pointers = {"q": 101, "k": 102, "v": 103, "out": 104, "lse": 105, "heads": 106}
try:
    values = static_prefill_values(pointers, request["length"], request["heads"], request["kvHeads"], request["layer"])
    print(json.dumps(launch_arguments(request["parameters"], values)))
except KeyError as error:
    print(json.dumps({"error": str(error)}))
`;

function pythonArguments(request: { parameters: readonly string[]; length: number; heads: number; kvHeads: number; layer: number }): unknown {
  return JSON.parse(execFileSync("python3", ["-c", harness], { input: JSON.stringify(request), encoding: "utf8" }));
}

describe("the GPU benchmark's launcher", () => {
  it("reads every benchmark kernel's parameters off its source, as emit.ts declares them", () => {
    for (const c of benchmarkCases()) {
      for (const launch of c.launches) {
        expect(kernelParameters(emitCuda(launch.kernel), launch.kernel.name)).toEqual([
          "q_in", "k_in", "v_in", "out", "lse", "head_list", "q_len", "k_len", "heads", "kv_heads", "layers", "layer", "splits", "pack",
        ]);
      }
    }
  });

  it("gives each parameter of every benchmark kernel its value, in order (pointers, lengths, layer, 1 split, no packing)", () => {
    for (const c of benchmarkCases()) {
      for (const launch of c.launches) {
        const parameters = kernelParameters(emitCuda(launch.kernel), launch.kernel.name);
        const got = pythonArguments({ parameters, length: 8192, heads: 8, kvHeads: 8, layer: launch.layer });
        const pointer = (value: number) => ["pointer", value];
        const int = (value: number) => ["int", value];
        expect(got, c.name).toEqual([pointer(101), pointer(102), pointer(103), pointer(104), pointer(105), pointer(106), int(8192), int(8192), int(8), int(8), int(1), int(launch.layer), int(1), int(1)]);
      }
    }
  });

  it("refuses a kernel with a parameter it has no value for (a dynamic kernel's packed inputs), naming it", () => {
    const binding = dynamicExample("block_sparse", { qLen: 100, kvLen: 100, heads: 1, kvHeads: 1 }, 16, 1);
    const [launch] = lowerAttention(binding, 0, { headDim: 64, dtype: "bf16", ...cudaLowering });
    if (launch === undefined) throw new Error("no launch");
    const parameters = kernelParameters(emitCuda(launch.kernel), launch.kernel.name);
    expect(parameters.length).toBeGreaterThan(14);
    expect(pythonArguments({ parameters, length: 100, heads: 1, kvHeads: 1, layer: 0 })).toEqual({ error: expect.stringMatching(/no value for kernel parameter\(s\) \w+.*update bench\/gpu\/launch_args\.py/) });
  });
});
