import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import { diskCache, type DiskCache } from "../../util/disk-cache.js";
import { findNvrtc } from "./nvrtc.js";
import type { CudaArch } from "./schedule.js";

export interface CompiledPtx {
  readonly ptx: string;
  /** Which compiler made it, for reports: `NVRTC 11.8 (/usr/lib/…/libnvrtc.so.11.2)` or `nvcc`. */
  readonly compiler: string;
}

/**
 * CUDA C++ → PTX the way `stipple` does it: in-process with NVRTC when the library is found (see
 * nvrtc.ts), otherwise with `nvcc -ptx`.
 */
export function compileCuda(source: string, arch: CudaArch, cache: DiskCache = diskCache()): CompiledPtx {
  const nvrtc = findNvrtc();
  const compiler = "compile" in nvrtc ? `NVRTC ${nvrtc.version} (${nvrtc.path})` : "nvcc";
  // The key is everything the PTX depends on: the compiler, the architecture and the source text.
  const key = `ptx\0${compiler}\0${arch}\0${source}`;
  const cached = cache.get(key);
  if (cached !== undefined) return { ptx: cached, compiler: `${compiler}, from the disk cache` };
  const ptx = "compile" in nvrtc ? nvrtc.compile(source, arch) : compileToPtx(source, arch);
  cache.put(key, ptx);
  return { ptx, compiler };
}

/**
 * CUDA C++ → PTX with `nvcc -ptx` (STIPPLE_NVCC overrides the binary), and the `ptxas -v` resource report
 * CI checks (registers, spills). Failures are STP904 with the compiler's own message.
 */
export function compileToPtx(source: string, arch: CudaArch): string {
  return inScratch((dir) => {
    const input = join(dir, "kernel.cu");
    const output = join(dir, "kernel.ptx");
    writeFileSync(input, source);
    run(process.env["STIPPLE_NVCC"] ?? "nvcc", ["-ptx", `-arch=${arch}`, "-std=c++17", "-o", output, input], "nvcc");
    return readFileSync(output, "utf8");
  });
}

export interface PtxasReport {
  readonly registers: number;
  readonly spillStores: number;
  readonly spillLoads: number;
  readonly stackFrame: number;
  readonly sharedBytes: number;
}

/**
 * Assembles PTX for `arch` and reads `ptxas -v`'s report: per entry function (a module of estimator kernels
 * has several), and the worst of each figure over them all (so a check on spills covers every entry, not
 * only the first one ptxas prints).
 */
export function ptxasReport(ptx: string, arch: CudaArch): PtxasReport & { readonly entries: ReadonlyMap<string, PtxasReport> } {
  return inScratch((dir) => {
    const input = join(dir, "kernel.ptx");
    writeFileSync(input, ptx);
    const text = run(process.env["STIPPLE_PTXAS"] ?? "ptxas", ["-v", `-arch=${arch}`, "-o", join(dir, "kernel.cubin"), input], "ptxas");
    const entries = new Map<string, PtxasReport>();
    for (const part of text.split(/Compiling entry function '/).slice(1)) {
      const name = part.slice(0, part.indexOf("'"));
      const number = (pattern: RegExp, absent = Number.NaN): number => Number(pattern.exec(part)?.[1] ?? absent);
      entries.set(name, {
        registers: number(/Used (\d+) registers/),
        spillStores: number(/(\d+) bytes spill stores/),
        spillLoads: number(/(\d+) bytes spill loads/),
        stackFrame: number(/(\d+) bytes stack frame/),
        // Static shared memory; ptxas prints no smem line for a kernel that declares none (dynamic only).
        sharedBytes: number(/(\d+) bytes smem/, 0),
      });
    }
    // No entry read is a report of NaNs, which no check passes.
    const worst = (field: keyof PtxasReport): number => (entries.size === 0 ? Number.NaN : Math.max(...[...entries.values()].map((entry) => entry[field])));
    return { registers: worst("registers"), spillStores: worst("spillStores"), spillLoads: worst("spillLoads"), stackFrame: worst("stackFrame"), sharedBytes: worst("sharedBytes"), entries };
  });
}

function inScratch<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "stipple-cuda-"));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a tool; its stdout and stderr together (ptxas -v reports on stderr). */
function run(tool: string, args: readonly string[], name: string): string {
  const result = spawnSync(tool, args, { encoding: "utf8" });
  if (result.error !== undefined && (result.error as { code?: string }).code === "ENOENT") {
    throw new DiagnosticError([diagnostic("STP904", `${name} was not found (looked for \`${tool}\` on PATH)`, { hint: `install the CUDA toolkit, or point STIPPLE_${name.toUpperCase()} at the binary` })]);
  }
  const text = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.status !== 0) {
    throw new DiagnosticError([diagnostic("STP904", `${name} rejected the generated kernel:\n${text}`.trim(), { hint: "this is a Stipple bug: please report it with the pattern file" })]);
  }
  return text;
}
