// Lists the WebGPU adapters Dawn finds on this machine, with their limits (a diagnostic for setting up CI).
import { create, globals } from "webgpu";
Object.assign(globalThis, globals);
const gpu = create(["backend=opengl"]);
const adapter = await gpu.requestAdapter({ featureLevel: "compatibility" });
if (!adapter) { console.log("no adapter"); process.exit(1); }
console.log(adapter.info);
const l = adapter.limits;
for (const k of ["maxStorageBuffersPerShaderStage", "maxComputeWorkgroupStorageSize", "maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupSizeX", "maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupsPerDimension", "maxUniformBuffersPerShaderStage"]) console.log(k, l[k]);
console.log([...adapter.features]);
