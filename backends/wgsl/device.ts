import { existsSync, mkdirSync } from "node:fs";
import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Finding a WebGPU device. In Node: Dawn through the `webgpu` package, on the software adapters a machine
 * without a GPU has (Mesa llvmpipe through Dawn's OpenGL backend in compatibility mode, SwiftShader through
 * Vulkan) or a real GPU. In a browser: `navigator.gpu`. The kernels use only core WGSL, so any adapter will
 * do; the limits they need are requested explicitly because compatibility mode starts lower.
 */
export interface WebGpuContext {
  readonly backend: "webgpu";
  readonly device: GPUDevice;
  /**
   * The GPU instance and adapter, held for as long as the device lives: if Dawn's instance is garbage
   * collected under a live device, Mesa's worker threads crash the process (seen with llvmpipe).
   */
  readonly keepAlive: readonly unknown[];
  /** Which adapter and Dawn backend: reported with every run and benchmark. */
  readonly description: string;
  /**
   * About how many workgroups the adapter runs at once: a software adapter (SwiftShader, llvmpipe) one per
   * CPU core, a GPU many. Split-K splits a launch only up to this (backends/wgsl/split-combine.ts).
   */
  readonly concurrency: number;
  /** A CPU adapter: kernels whose best shape differs there (more work per invocation) ask this. */
  readonly software: boolean;
}

export type AdapterChoice = "auto" | "opengl" | "vulkan";

/** Workgroups a GPU adapter is taken to run at once (WebGPU does not say): enough for a hundred-odd cores. */
export const gpuConcurrency = 128;

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

const cached = new Map<string, Promise<WebGpuContext>>();

export interface OpenOptions {
  /**
   * false turns off Dawn's bounds clamping (the `disable_robustness` toggle): only for the bounds-guard
   * tests, so that a kernel writing out of bounds hits the canaries instead of being silently clamped.
   */
  readonly robust?: boolean;
}

/** One device per adapter choice and robustness, opened once per process. */
export function openWebGpu(choice: AdapterChoice = "auto", options: OpenOptions = {}): Promise<WebGpuContext> {
  const key = `${choice}/${options.robust === false ? "unguarded" : "robust"}`;
  let context = cached.get(key);
  if (context === undefined) {
    context = open(choice, options.robust !== false);
    cached.set(key, context);
  }
  return context;
}

/** Where Debian's chromium package puts SwiftShader's Vulkan driver (scripts/install-software-gpu.sh). */
export const swiftShaderIcd = "/usr/lib/chromium/vk_swiftshader_icd.json";

/**
 * Dawn toggles for the devices we open. `disable_workgroup_init`: WebGPU zeroes a workgroup's memory before
 * it starts, a loop and a barrier in every workgroup. On SwiftShader that costs about 0.3 ms of CPU per
 * workgroup with 16 KiB of tiles, as much as a sparse kernel's visits to a dozen tiles: 7 % of a 4k band kernel,
 * against 0.3 % of the causal-dense one, which has fewer, longer workgroups. Our kernels write every word
 * of workgroup memory before they read it (tiles: the keys a visit loads are the only ones it folds;
 * reductions and index words: written, then a barrier), so the zeroing only costs. A browser's device, which
 * a caller opens, keeps it.
 */
function dawnFeatures(robust: boolean): string[] {
  return ["disable_workgroup_init", ...(robust ? [] : ["disable_robustness"])];
}

async function open(choice: AdapterChoice, robust: boolean): Promise<WebGpuContext> {
  // Mesa's EGL needs no display when told so; harmless elsewhere.
  process.env["EGL_PLATFORM"] ??= "surfaceless";
  // Prefer SwiftShader (Vulkan, core features) when no Vulkan driver is named: Mesa's llvmpipe through
  // OpenGL drops some storage writes of our kernels past ~112 KiB (seen with Mesa 22.3), SwiftShader does not.
  if (process.env["VK_ICD_FILENAMES"] === undefined && existsSync(swiftShaderIcd)) process.env["VK_ICD_FILENAMES"] = swiftShaderIcd;
  // Vulkan loaders complain on stderr without a runtime directory; give them a private one.
  if (process.env["XDG_RUNTIME_DIR"] === undefined) {
    const runtimeDir = join(tmpdir(), `stipple-runtime-${process.getuid?.() ?? 0}`);
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    process.env["XDG_RUNTIME_DIR"] = runtimeDir;
  }
  const dawn = (await import("webgpu")) as unknown as DawnModule;
  Object.assign(globalThis, dawn.globals);
  const attempts: [string, GPURequestAdapterOptions][] =
    choice === "opengl" ? [["opengl", { featureLevel: "compatibility" }]]
    : choice === "vulkan" ? [["vulkan", {}]]
    : [["vulkan", {}], ["opengl", { featureLevel: "compatibility" }]];
  const tried: string[] = [];
  for (const [backend, options] of attempts) {
    const gpu = dawn.create([`backend=${backend}`, `enable-dawn-features=${dawnFeatures(robust).join(",")}`]);
    const adapter = await quietly(() => gpu.requestAdapter(options));
    if (adapter === null || adapter === undefined) {
      tried.push(backend);
      continue;
    }
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBuffersPerShaderStage: Math.min(8, limits.maxStorageBuffersPerShaderStage),
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: Math.min(256, limits.maxComputeInvocationsPerWorkgroup),
        maxComputeWorkgroupSizeX: Math.min(256, limits.maxComputeWorkgroupSizeX),
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
      },
    });
    const info = adapter.info;
    const name = [info.vendor, info.architecture, info.device, info.description].filter((x) => x !== "").join(" ") || "unnamed adapter";
    const notes = [options.featureLevel === "compatibility" ? "compatibility" : "", robust ? "" : "robustness off", "workgroup memory not zeroed"].filter((x) => x !== "");
    const software = /swiftshader|llvmpipe|lavapipe|softpipe/i.test(name);
    return { backend: "webgpu", device, keepAlive: [gpu, adapter], description: `${name} (Dawn ${[backend, ...notes].join(", ")})`, concurrency: software ? cpus().length : gpuConcurrency, software };
  }
  throw new DiagnosticError([diagnostic("STP903", `no WebGPU adapter found (tried Dawn backends: ${tried.join(", ")})`, {
    hint: "without a GPU, run scripts/install-software-gpu.sh to install SwiftShader and Mesa; or choose another --adapter",
  })]);
}

/** Dawn prints adapter probing noise on stderr; keep it out of the user's terminal. */
async function quietly<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch {
    return undefined;
  }
}
