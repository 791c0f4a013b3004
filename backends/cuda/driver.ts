import { diagnostic, DiagnosticError } from "../../diagnostics/diagnostic.js";
import { koffi } from "./ffi.js";
import { locateLibrary } from "./library.js";
import { assertNever } from "../../util/hash.js";

/**
 * The CUDA driver API through koffi: the few calls a JIT runtime needs (devices, the primary context,
 * memory, modules from PTX, launches, events). Every CUresult other than CUDA_SUCCESS becomes a coded
 * diagnostic with the driver's own name and text for it (`cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (2): out
 * of memory`). Handles are opaque values; device pointers are bigints.
 *
 * The library is `libcuda.so.1` from the NVIDIA driver (STIPPLE_LIBCUDA names another file, e.g. a stub).
 */
export const libcudaSearch = { variable: "STIPPLE_LIBCUDA", names: ["libcuda.so.1", "libcuda.so"] } as const;

export type DevicePointer = bigint;
/** Opaque driver handles (CUcontext, CUmodule, CUfunction, CUevent). */
export type Handle = unknown;

/** Device attributes used here (CUdevice_attribute). */
const attribute = { computeCapabilityMajor: 75, computeCapabilityMinor: 76, multiprocessorCount: 16 } as const;
/** CUfunction_attribute CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES. */
const maxDynamicSharedAttribute = 8;
/** CUjit_option: where cuModuleLoadDataEx writes the JIT's error log, and its size. */
const jitErrorLogBuffer = 5, jitErrorLogBufferSize = 6;

export interface CudaDriver {
  readonly path: string;
  /** `cuDriverGetVersion`, as `13.0`. */
  readonly version: string;
  deviceCount(): number;
  device(ordinal: number): number;
  deviceName(device: number): string;
  computeCapability(device: number): readonly [number, number];
  multiprocessors(device: number): number;
  /** Retains the device's primary context and makes it current. */
  useDevice(device: number): Handle;
  alloc(bytes: number): DevicePointer;
  /** Free and total device memory of the current context, in bytes (cuMemGetInfo). */
  memoryInfo(): { readonly free: number; readonly total: number };
  free(pointer: DevicePointer): void;
  upload(pointer: DevicePointer, data: ArrayBufferView): void;
  download(pointer: DevicePointer, into: ArrayBufferView): void;
  fill32(pointer: DevicePointer, word: number, count: number): void;
  /** Loads PTX (JIT-compiled by the driver for the device); a JIT error carries the driver's log. */
  loadModule(ptx: string): Handle;
  unloadModule(module: Handle): void;
  kernel(module: Handle, name: string): Handle;
  /** Launches with `sharedBytes` of dynamic shared memory (0: the kernel declares all it uses). */
  launch(kernel: Handle, grid: readonly [number, number, number], block: readonly [number, number, number], args: readonly KernelArgument[], sharedBytes?: number): void;
  /** Lets the kernel's launches take up to `bytes` of dynamic shared memory (past 48 KiB needs this). */
  allowDynamicShared(kernel: Handle, bytes: number): void;
  synchronize(): void;
  createEvent(): Handle;
  record(event: Handle): void;
  /** Milliseconds between two recorded events (waits for the second). */
  elapsed(start: Handle, end: Handle): number;
  destroyEvent(event: Handle): void;
}

/** A kernel argument as the driver wants it: device pointers are 8 bytes, ints 4. */
export type KernelArgument =
  | { readonly kind: "pointer"; readonly value: DevicePointer }
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "float"; readonly value: number };

let cached: CudaDriver | undefined;

/** The driver, bound and initialized once per process; STP905 when there is none or it has no device. */
export function cudaDriver(): CudaDriver {
  if (cached !== undefined) return cached;
  const located = locateLibrary(libcudaSearch);
  if (!located.found) {
    throw new DiagnosticError([diagnostic("STP905", `no CUDA driver library (libcuda.so.1) was found; looked in ${located.looked.join(", ")}`, {
      hint: "install the NVIDIA driver, or point STIPPLE_LIBCUDA at libcuda.so.1; without a GPU use --backend wgsl",
    })]);
  }
  cached = bindDriver(located.path);
  return cached;
}

function bindDriver(path: string): CudaDriver {
  const ffi = koffi();
  const library = ffi.load(path);
  const handle = ffi.pointer("CUhandle", ffi.opaque());
  const fn = (signature: string): ((...args: unknown[]) => number) => library.func(signature) as (...args: unknown[]) => number;
  const api = {
    cuInit: fn("int cuInit(unsigned int flags)"),
    cuDriverGetVersion: fn("int cuDriverGetVersion(_Out_ int *version)"),
    cuGetErrorName: fn("int cuGetErrorName(int error, _Out_ const char **name)"),
    cuGetErrorString: fn("int cuGetErrorString(int error, _Out_ const char **text)"),
    cuDeviceGetCount: fn("int cuDeviceGetCount(_Out_ int *count)"),
    cuDeviceGet: fn("int cuDeviceGet(_Out_ int *device, int ordinal)"),
    cuDeviceGetName: fn("int cuDeviceGetName(_Out_ uint8_t *name, int length, int device)"),
    cuDeviceGetAttribute: fn("int cuDeviceGetAttribute(_Out_ int *value, int attribute, int device)"),
    cuDevicePrimaryCtxRetain: fn("int cuDevicePrimaryCtxRetain(_Out_ CUhandle *context, int device)"),
    cuCtxSetCurrent: fn("int cuCtxSetCurrent(CUhandle context)"),
    cuCtxSynchronize: fn("int cuCtxSynchronize()"),
    cuMemAlloc: fn("int cuMemAlloc_v2(_Out_ uint64_t *pointer, size_t bytes)"),
    cuMemGetInfo: fn("int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)"),
    cuMemFree: fn("int cuMemFree_v2(uint64_t pointer)"),
    cuMemcpyHtoD: fn("int cuMemcpyHtoD_v2(uint64_t destination, const void *source, size_t bytes)"),
    cuMemcpyDtoH: fn("int cuMemcpyDtoH_v2(void *destination, uint64_t source, size_t bytes)"),
    cuMemsetD32: fn("int cuMemsetD32_v2(uint64_t destination, unsigned int word, size_t count)"),
    cuModuleLoadDataEx: fn("int cuModuleLoadDataEx(_Out_ CUhandle *module, const char *image, unsigned int count, const int *options, const void *values)"),
    cuModuleUnload: fn("int cuModuleUnload(CUhandle module)"),
    cuModuleGetFunction: fn("int cuModuleGetFunction(_Out_ CUhandle *kernel, CUhandle module, const char *name)"),
    cuFuncSetAttribute: fn("int cuFuncSetAttribute(CUhandle kernel, int attribute, int value)"),
    cuLaunchKernel: fn("int cuLaunchKernel(CUhandle kernel, unsigned int gridX, unsigned int gridY, unsigned int gridZ, unsigned int blockX, unsigned int blockY, unsigned int blockZ, unsigned int sharedBytes, CUhandle stream, const void *params, const void *extra)"),
    cuEventCreate: fn("int cuEventCreate(_Out_ CUhandle *event, unsigned int flags)"),
    cuEventRecord: fn("int cuEventRecord(CUhandle event, CUhandle stream)"),
    cuEventElapsedTime: fn("int cuEventElapsedTime(_Out_ float *milliseconds, CUhandle start, CUhandle end)"),
    cuEventSynchronize: fn("int cuEventSynchronize(CUhandle event)"),
    cuEventDestroy: fn("int cuEventDestroy_v2(CUhandle event)"),
  };

  const describe = (result: number): string => {
    const name: unknown[] = [null], text: unknown[] = [null];
    api.cuGetErrorName(result, name);
    api.cuGetErrorString(result, text);
    return `${typeof name[0] === "string" ? name[0] : "CUDA_ERROR"} (${result}): ${typeof text[0] === "string" ? text[0] : "unknown error"}`;
  };
  const check = (result: number, call: string, extra = ""): void => {
    if (result === 0) return;
    throw new DiagnosticError([diagnostic("STP906", `${call}: ${describe(result)}${extra}`, { hint: driverHint(call) })]);
  };
  const out = <T>(call: string, invoke: (slot: unknown[]) => number): T => {
    const slot: unknown[] = [null];
    check(invoke(slot), call);
    return slot[0] as T;
  };

  const initialized = api.cuInit(0);
  if (initialized !== 0) {
    throw new DiagnosticError([diagnostic("STP905", `the CUDA driver (${path}) found no usable device: cuInit: ${describe(initialized)}`, {
      hint: "check nvidia-smi; without a GPU use --backend wgsl",
    })]);
  }
  const version = out<number>("cuDriverGetVersion", (slot) => api.cuDriverGetVersion(slot));
  const int = (call: string, invoke: (slot: unknown[]) => number): number => Number(out<number>(call, invoke));

  return {
    path,
    version: `${Math.floor(version / 1000)}.${(version % 1000) / 10}`,
    deviceCount: () => int("cuDeviceGetCount", (slot) => api.cuDeviceGetCount(slot)),
    device: (ordinal) => int("cuDeviceGet", (slot) => api.cuDeviceGet(slot, ordinal)),
    deviceName(device) {
      const buffer = Buffer.alloc(256);
      check(api.cuDeviceGetName(buffer, buffer.length, device), "cuDeviceGetName");
      return buffer.toString("utf8", 0, Math.max(0, buffer.indexOf(0)));
    },
    computeCapability: (device) => [
      int("cuDeviceGetAttribute", (slot) => api.cuDeviceGetAttribute(slot, attribute.computeCapabilityMajor, device)),
      int("cuDeviceGetAttribute", (slot) => api.cuDeviceGetAttribute(slot, attribute.computeCapabilityMinor, device)),
    ],
    multiprocessors: (device) => int("cuDeviceGetAttribute", (slot) => api.cuDeviceGetAttribute(slot, attribute.multiprocessorCount, device)),
    useDevice(device) {
      const context = out<Handle>("cuDevicePrimaryCtxRetain", (slot) => api.cuDevicePrimaryCtxRetain(slot, device));
      check(api.cuCtxSetCurrent(context), "cuCtxSetCurrent");
      return context;
    },
    alloc: (bytes) => BigInt(out<number | bigint>("cuMemAlloc_v2", (slot) => api.cuMemAlloc(slot, Math.max(4, bytes)))),
    memoryInfo() {
      const free: unknown[] = [0], total: unknown[] = [0];
      check(api.cuMemGetInfo(free, total), "cuMemGetInfo_v2");
      return { free: Number(free[0]), total: Number(total[0]) };
    },
    free: (pointer) => check(api.cuMemFree(pointer), "cuMemFree_v2"),
    upload: (pointer, data) => check(api.cuMemcpyHtoD(pointer, data, data.byteLength), "cuMemcpyHtoD_v2"),
    download: (pointer, into) => check(api.cuMemcpyDtoH(into, pointer, into.byteLength), "cuMemcpyDtoH_v2"),
    fill32: (pointer, word, count) => check(api.cuMemsetD32(pointer, word >>> 0, count), "cuMemsetD32_v2"),
    loadModule(ptx) {
      const log = Buffer.alloc(16384);
      const options = Int32Array.from([jitErrorLogBuffer, jitErrorLogBufferSize]);
      // Option values are pointer-sized: the log's address, then its size cast to a pointer.
      const values = new BigUint64Array([ffi.address(log), BigInt(log.length)]);
      const slot: unknown[] = [null];
      const result = api.cuModuleLoadDataEx(slot, ptx, 2, options, values);
      const text = log.toString("utf8", 0, Math.max(0, log.indexOf(0))).trim();
      check(result, "cuModuleLoadDataEx", text === "" ? "" : `\n${text}`);
      return slot[0];
    },
    unloadModule: (module) => check(api.cuModuleUnload(module), "cuModuleUnload"),
    kernel: (module, name) => out<Handle>(`cuModuleGetFunction(${name})`, (slot) => api.cuModuleGetFunction(slot, module, name)),
    allowDynamicShared: (kernel, bytes) => check(api.cuFuncSetAttribute(kernel, maxDynamicSharedAttribute, bytes), "cuFuncSetAttribute"),
    launch(kernel, grid, block, args, sharedBytes = 0) {
      // kernelParams is an array of pointers, one per argument, each to that argument's bytes.
      const values = Buffer.alloc(8 * Math.max(1, args.length));
      args.forEach((arg, at) => writeArgument(values, 8 * at, arg));
      const base = ffi.address(values);
      const params = new BigUint64Array(args.map((_, at) => base + BigInt(8 * at)));
      check(api.cuLaunchKernel(kernel, grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes, null, params, null), "cuLaunchKernel");
      // `values` must outlive the call only: cuLaunchKernel copies the arguments before it returns.
    },
    synchronize: () => check(api.cuCtxSynchronize(), "cuCtxSynchronize"),
    createEvent: () => out<Handle>("cuEventCreate", (slot) => api.cuEventCreate(slot, 0)),
    record: (event) => check(api.cuEventRecord(event, null), "cuEventRecord"),
    elapsed(start, end) {
      check(api.cuEventSynchronize(end), "cuEventSynchronize");
      const milliseconds = new Float32Array(1);
      check(api.cuEventElapsedTime(milliseconds, start, end), "cuEventElapsedTime");
      return milliseconds[0] ?? Number.NaN;
    },
    destroyEvent: (event) => check(api.cuEventDestroy(event), "cuEventDestroy_v2"),
  };
}

function driverHint(call: string): string {
  if (call.startsWith("cuMemAlloc")) return "the tensors do not fit in device memory: use fewer heads or shorter sequences per run";
  if (call === "cuModuleLoadDataEx") return "the driver could not JIT the PTX: update the NVIDIA driver, or report the pattern file";
  if (call === "cuCtxSynchronize") return "the kernel failed on the device: this is a Stipple bug, please report it with the pattern file and shapes";
  return "this is a Stipple bug or a driver problem: please report it with the pattern file";
}

/** One kernel argument's bytes at `offset` (pointers 8 bytes, int and float 4). */
function writeArgument(values: Buffer, offset: number, arg: KernelArgument): void {
  switch (arg.kind) {
    case "pointer":
      values.writeBigUInt64LE(arg.value, offset);
      return;
    case "int":
      values.writeInt32LE(arg.value, offset);
      return;
    case "float":
      values.writeFloatLE(arg.value, offset);
      return;
    default:
      assertNever(arg, "kernel argument");
  }
}
