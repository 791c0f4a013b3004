import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import { koffi } from "./ffi.js";
import { locateLibrary, type Located } from "./library.js";
import type { CudaArch } from "./schedule.js";

/**
 * NVRTC through koffi: CUDA C++ → PTX in-process, without a toolkit install. Looked for where
 * `locateLibrary` says (STIPPLE_NVRTC names the file; `none` turns NVRTC off, e.g. to force nvcc).
 * Debian's `libnvrtc11.2` (CUDA 11.8, non-free) and NVIDIA's `nvidia-cuda-nvrtc` wheel both work.
 */
export const nvrtcSearch = {
  variable: "STIPPLE_NVRTC",
  names: ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"],
  wheelDirs: ["nvidia/cuda_nvrtc/lib", "nvidia/cu13/lib"],
} as const;

export interface Nvrtc {
  readonly path: string;
  /** `major.minor` as NVRTC reports it. */
  readonly version: string;
  /** PTX for the architecture's virtual target (`compute_80`, `compute_90`); STP904 with NVRTC's log on failure. */
  compile(source: string, arch: CudaArch, name?: string): string;
}

let cached: Nvrtc | Located | undefined;

/** The NVRTC library, or where it was looked for. */
export function findNvrtc(): Nvrtc | Extract<Located, { found: false }> {
  if (process.env["STIPPLE_NVRTC"] === "none") return { found: false, looked: ["STIPPLE_NVRTC=none"] };
  if (cached === undefined) {
    const located = locateLibrary(nvrtcSearch);
    cached = located.found ? bindNvrtc(located.path) : located;
  }
  return cached as Nvrtc | Extract<Located, { found: false }>;
}

function bindNvrtc(path: string): Nvrtc {
  const ffi = koffi();
  const library = ffi.load(path);
  const program = ffi.pointer("nvrtcProgram", ffi.opaque());
  const version = library.func("int nvrtcVersion(_Out_ int *major, _Out_ int *minor)");
  const create = library.func("int nvrtcCreateProgram(_Out_ nvrtcProgram *prog, const char *src, const char *name, int numHeaders, const char **headers, const char **includeNames)");
  const compileProgram = library.func("int nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char **options)");
  const logSize = library.func("int nvrtcGetProgramLogSize(nvrtcProgram prog, _Out_ size_t *size)");
  const getLog = library.func("int nvrtcGetProgramLog(nvrtcProgram prog, _Out_ uint8_t *log)");
  const ptxSize = library.func("int nvrtcGetPTXSize(nvrtcProgram prog, _Out_ size_t *size)");
  const getPtx = library.func("int nvrtcGetPTX(nvrtcProgram prog, _Out_ uint8_t *ptx)");
  const destroy = library.func("int nvrtcDestroyProgram(_Inout_ nvrtcProgram *prog)");
  const errorString = library.func("const char *nvrtcGetErrorString(int result)");

  const check = (result: number, call: string, log = ""): void => {
    if (result === 0) return;
    throw new DiagnosticError([diagnostic("STP904", `NVRTC ${call} failed: ${String(errorString(result))} (${result})${log === "" ? "" : `\n${log}`}`, {
      hint: "this is a Stipple bug unless NVRTC is too old for the architecture: please report it with the pattern file",
    })]);
  };
  /** Reads a NUL-terminated text of `size` bytes (the size counts the NUL). */
  const text = (prog: unknown, sizeOf: (p: unknown, s: number[]) => number, read: (p: unknown, b: Buffer) => number): string => {
    const size = [0];
    sizeOf(prog, size);
    const buffer = Buffer.alloc(Math.max(1, size[0] ?? 1));
    read(prog, buffer);
    return buffer.toString("utf8", 0, Math.max(0, (size[0] ?? 1) - 1));
  };

  const major = [0], minor = [0];
  check(version(major, minor), "nvrtcVersion");
  return {
    path,
    version: `${major[0]}.${minor[0]}`,
    compile(source, arch, name = "kernel.cu") {
      const handle: unknown[] = [null];
      check(create(handle, source, name, 0, null, null), "nvrtcCreateProgram");
      const prog = handle[0];
      try {
        const options = [`--gpu-architecture=${arch.replace("sm_", "compute_")}`, "--std=c++17"];
        const result = compileProgram(prog, options.length, options) as number;
        check(result, "nvrtcCompileProgram", result === 0 ? "" : text(prog, logSize, getLog));
        return text(prog, ptxSize, getPtx);
      } finally {
        destroy(handle);
      }
    },
  };
}
