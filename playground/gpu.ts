import type { WebGpuContext } from "../backends/wgsl/device.js";

/** A WebGPU device from the browser's navigator.gpu, in the shape Stipple's runtime takes. */
export async function openBrowserGpu(): Promise<WebGpuContext> {
  if (!("gpu" in navigator)) throw new Error("this browser has no WebGPU (navigator.gpu)");
  const adapter = await navigator.gpu.requestAdapter();
  if (adapter === null) throw new Error("navigator.gpu found no adapter");
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBuffersPerShaderStage: Math.min(8, limits.maxStorageBuffersPerShaderStage),
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
    },
  });
  const info = adapter.info;
  const name = [info.vendor, info.architecture, info.device, info.description].filter((x) => x !== "").join(" ") || "unnamed adapter";
  // A software adapter (SwiftShader) runs about one workgroup per core; a GPU many (see split-combine.ts).
  const software = /swiftshader|llvmpipe|lavapipe/i.test(name);
  return { backend: "webgpu", device, keepAlive: [adapter], description: `${name} (browser)`, concurrency: software ? navigator.hardwareConcurrency : 128, software };
}
