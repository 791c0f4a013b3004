import { existsSync } from "node:fs";

/**
 * Headless Chromium with WebGPU on a machine without a GPU: Debian's `chromium` package runs WebGPU on its
 * SwiftShader (Vulkan) adapter with these flags. STIPPLE_CHROMIUM overrides the binary.
 */
export const chromiumWebGpuFlags = ["--no-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan,WebGPUService", "--ignore-gpu-blocklist", "--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader"];

export function chromiumPath(): string {
  const candidates = [process.env["STIPPLE_CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  const found = candidates.find((path) => path !== undefined && existsSync(path));
  if (found === undefined) throw new Error("no Chromium found: install Debian's `chromium` (scripts/install-software-gpu.sh does) or set STIPPLE_CHROMIUM");
  return found;
}
