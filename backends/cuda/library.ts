import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Where the CUDA shared libraries are looked for: the path in an environment variable first (which must
 * exist), then each candidate file name in the usual directories — the CUDA toolkit's, the linker's,
 * Debian's, and NVIDIA's Python wheels (`nvidia/cuda_nvrtc/lib`, where PyTorch machines have NVRTC) — and
 * finally the bare names, which the dynamic linker resolves through its own search path.
 */
export interface LibrarySearch {
  /** The environment variable that names the library's path, overriding the search. */
  readonly variable: string;
  /** File names, most wanted first (`libnvrtc.so`, `libnvrtc.so.13`, …). */
  readonly names: readonly string[];
  /** Sub-directories of Python site-packages where a wheel puts the library. */
  readonly wheelDirs?: readonly string[];
}

export type Located = { readonly found: true; readonly path: string } | { readonly found: false; readonly looked: readonly string[] };

export function locateLibrary(search: LibrarySearch, env: NodeJS.ProcessEnv = process.env): Located {
  const override = env[search.variable];
  if (override !== undefined && override !== "") {
    return existsSync(override) ? { found: true, path: override } : { found: false, looked: [`${search.variable}=${override} (no such file)`] };
  }
  const dirs = [
    ...[env["CUDA_HOME"], env["CUDA_PATH"], "/usr/local/cuda"].flatMap((root) => (root === undefined ? [] : [join(root, "lib64"), join(root, "lib"), join(root, "targets/x86_64-linux/lib")])),
    ...(env["LD_LIBRARY_PATH"] ?? "").split(":").filter((dir) => dir !== ""),
    "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib",
    ...pythonWheelDirs(search.wheelDirs ?? []),
  ];
  const looked: string[] = [];
  for (const dir of dirs) {
    for (const name of search.names) {
      const path = join(dir, name);
      if (existsSync(path)) return { found: true, path };
    }
    looked.push(dir);
  }
  return { found: false, looked };
}

/** `site-packages/<sub>` of the Python installs found under the usual prefixes (pyenv, venvs, system). */
function pythonWheelDirs(subdirs: readonly string[]): string[] {
  if (subdirs.length === 0) return [];
  const roots = ["/usr/lib", "/usr/local/lib", "/opt/conda/lib", `${process.env["HOME"] ?? "/root"}/.local/lib`, process.env["VIRTUAL_ENV"] === undefined ? "" : join(process.env["VIRTUAL_ENV"], "lib")];
  const found: string[] = [];
  for (const root of roots) {
    for (const entry of listDir(root).filter((name) => name.startsWith("python3"))) {
      for (const packages of ["site-packages", "dist-packages"]) {
        for (const sub of subdirs) found.push(join(root, entry, packages, sub));
      }
    }
  }
  return found;
}

function listDir(dir: string): string[] {
  try {
    return dir === "" ? [] : readdirSync(dir);
  } catch {
    return [];
  }
}
