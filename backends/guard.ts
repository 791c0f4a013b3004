/**
 * The bounds guard, a test mode of every runtime: each output sits between canary regions filled before the
 * kernel runs and checked after it, so a kernel that writes outside its output fails the run.
 */

/** Words of canary before and after each output (256 bytes: WebGPU's binding-offset alignment). */
export const guardWords = 64;
export const canary = 0xdeadbeef;

/** The index of the first canary word that changed, or undefined when both canary regions are intact. */
export function firstDamagedCanary(words: Uint32Array, guard: number): number | undefined {
  for (let at = 0; at < guard; at++) if (words[at] !== canary) return at;
  for (let at = words.length - guard; at < words.length; at++) if (words[at] !== canary) return at;
  return undefined;
}

/** The output inside a guarded read-back, after checking both canaries; throws naming the output otherwise. */
export function unguarded(all: Float32Array, length: number, guard: number, name: string): Float32Array {
  const words = new Uint32Array(all.buffer, all.byteOffset, all.length);
  const damaged = firstDamagedCanary(words, guard);
  if (damaged !== undefined) throw new Error(`bounds guard: the kernel wrote outside \`${name}\` (canary word ${damaged} of the guarded buffer, in the ${damaged < guard ? "leading" : "trailing"} canary)`);
  return all.slice(guard, guard + length);
}
