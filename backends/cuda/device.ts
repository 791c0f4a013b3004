import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import { cudaDriver, type CudaDriver, type Handle } from "./driver.js";
import type { CudaArch } from "./schedule.js";

/** An open CUDA device: the driver, its primary context (current on this thread), and what to compile for. */
export interface CudaContext {
  readonly backend: "cuda";
  readonly driver: CudaDriver;
  readonly device: number;
  readonly context: Handle;
  readonly name: string;
  readonly computeCapability: readonly [number, number];
  /** The PTX target: sm_80 for compute capability 8.x, sm_90 for 9.x and later (newer GPUs JIT the PTX). */
  readonly arch: CudaArch;
  /** Streaming multiprocessors (split-K sizes decode launches to fill them). */
  readonly multiprocessors: number;
  /** Device, capability, driver: reported with every run and benchmark. */
  readonly description: string;
  /** Modules loaded on this device, by key (a kernel hash, an estimator's settings) and arch: a module is compiled and loaded once. */
  readonly modules: Map<string, Handle>;
  /** Their kernels, by module key, arch and name. */
  readonly kernels: Map<string, Handle>;
}

const opened = new Map<number, CudaContext>();

/** Opens device `ordinal` (default 0) once per process; STP905 when there is no such device or it is too old. */
export function openCuda(ordinal = 0): CudaContext {
  const existing = opened.get(ordinal);
  if (existing !== undefined) return existing;
  const driver = cudaDriver();
  const count = driver.deviceCount();
  if (ordinal < 0 || ordinal >= count) {
    throw new DiagnosticError([diagnostic("STP905", `CUDA device ${ordinal} does not exist (${count} device${count === 1 ? "" : "s"})`, { hint: count === 0 ? "check nvidia-smi" : `use a device below ${count}` })]);
  }
  const device = driver.device(ordinal);
  const name = driver.deviceName(device);
  const capability = driver.computeCapability(device);
  const [major, minor] = capability;
  if (major < 8) {
    throw new DiagnosticError([diagnostic("STP905", `${name} has compute capability ${major}.${minor}; Stipple's CUDA kernels need 8.0 or later (mma.sync m16n8k16 with bf16)`, {
      hint: "run on an Ampere, Ada or Hopper GPU, or use --backend wgsl",
    })]);
  }
  const context = driver.useDevice(device);
  const arch: CudaArch = major >= 9 ? "sm_90" : "sm_80";
  const created: CudaContext = {
    backend: "cuda", driver, device, context, name, computeCapability: capability, arch, multiprocessors: driver.multiprocessors(device),
    description: `${name} (compute ${major}.${minor}, ${arch} PTX, CUDA driver ${driver.version})`,
    modules: new Map(),
    kernels: new Map(),
  };
  opened.set(ordinal, created);
  return created;
}
