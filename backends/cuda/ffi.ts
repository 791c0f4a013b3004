import { createRequire } from "node:module";

export type Koffi = typeof import("koffi");

let loaded: Koffi | undefined;

/**
 * koffi, loaded on first use: only the CUDA paths that call into NVRTC or the driver need the native
 * addon, so WGSL users (and browser bundles) never load it.
 */
export function koffi(): Koffi {
  loaded ??= createRequire(import.meta.url)("koffi") as Koffi;
  return loaded;
}
