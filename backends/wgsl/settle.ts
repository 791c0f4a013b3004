/**
 * Waiting for the device without spinning a core.
 *
 * Dawn's Node binding (the `webgpu` package) settles its promises (onSubmittedWorkDone, mapAsync, error
 * scopes) by ticking the device from a native callback that re-queues itself with `setImmediate` for as long
 * as one is pending: the main thread polls at 100 % of a core. On a software adapter the kernels run on the
 * CPU, so that thread takes a core from SwiftShader's workers. On this 2-core VM a 4k band kernel took
 * 520–830 ms while the main thread spun, and 360–480 ms with it asleep.
 *
 * While `settle` waits, those native ticks go through `setTimeout(…, 1)` instead: they come at most a
 * millisecond later, and the core is left to the kernel. Only native callbacks are delayed (Dawn's tick is
 * one; a script's own `setImmediate` callbacks are JavaScript functions and keep their timing). Browsers
 * have no `setImmediate`, and this is then a plain await.
 */
type Immediate = (callback: (...args: unknown[]) => void, ...args: unknown[]) => unknown;
interface Host { setImmediate?: Immediate }

const host = globalThis as Host;
let waiting = 0;
let original: Immediate | undefined;

function isNative(callback: unknown): boolean {
  return typeof callback === "function" && Function.prototype.toString.call(callback).includes("[native code]");
}

function relaxed(immediate: Immediate): Immediate {
  return (callback, ...args) => (isNative(callback) ? setTimeout(callback, 1, ...args) : immediate(callback, ...args));
}

/** Starts `wait` (a promise that Dawn settles) and awaits it with Dawn's ticks relaxed, as above. */
export async function settle<T>(wait: () => Promise<T>): Promise<T> {
  const immediate = host.setImmediate;
  if (typeof immediate !== "function") return wait();
  if (waiting++ === 0) {
    original = immediate;
    host.setImmediate = relaxed(immediate);
  }
  try {
    return await wait();
  } finally {
    if (--waiting === 0 && original !== undefined) {
      host.setImmediate = original;
      original = undefined;
    }
  }
}
