import { execSync } from "node:child_process";
import { cpus } from "node:os";

export interface Timing {
  readonly minMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  readonly repetitions: number;
}

/** Runs `work` once to warm up, then `repetitions` times; min / median / max wall-clock milliseconds. */
export function time(work: () => unknown, repetitions = 7): Timing {
  work();
  const samples: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    const start = performance.now();
    work();
    samples.push(performance.now() - start);
  }
  return timingOf(samples);
}

/** Min / median / max of wall-clock samples in milliseconds. */
export function timingOf(samples: readonly number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  return { minMs: sorted[0] ?? 0, medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0, maxMs: sorted.at(-1) ?? 0, repetitions: sorted.length };
}

/** The commit measured: git's, or on the GPU machine (no .git there) the one scripts/gpu-session.sh passes. */
function commitMeasured(): string {
  const passed = process.env["STIPPLE_COMMIT"];
  if (passed !== undefined && passed !== "") return passed;
  try {
    return execSync("git rev-parse --short HEAD", { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

/** What every result file records about where and when it was measured. */
export function provenance(): Record<string, string> {
  return { date: new Date().toISOString(), commit: commitMeasured(), node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: String(cpus().length) };
}
