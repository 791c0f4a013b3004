import type { FuzzCase } from "./generate.js";

/**
 * A saved failing case: a header of `#` lines (where it came from, the bind seed, what failed), a marker line,
 * then the source byte for byte, so replaying it runs exactly the case that failed.
 */
const marker = "# --- source below, byte for byte ---\n";

export function reproducerText(fuzzCase: FuzzCase, found: { seed: number; n: number; stage: string; message: string }): string {
  const message = found.message.replace(/\s+/g, " ").slice(0, 300);
  return [
    `# fuzz reproducer: seed ${found.seed}, case ${found.n} (${fuzzCase.origin})`,
    `# bind-seed: ${fuzzCase.bindSeed}`,
    `# failed at ${found.stage}: ${message}`,
    "",
  ].join("\n") + marker + fuzzCase.source;
}

/** The case, and the stage it failed at ("device" ones must be replayed on an adapter). */
export function readReproducer(text: string): FuzzCase & { readonly stage: string } {
  const at = text.indexOf(marker);
  const header = at < 0 ? "" : text.slice(0, at);
  const bindSeed = Number(/^# bind-seed: (\d+)$/m.exec(header)?.[1] ?? 0);
  const stage = /^# failed at ([a-z ]+):/m.exec(header)?.[1] ?? "";
  return { origin: "typed", source: at < 0 ? text : text.slice(at + marker.length), bindSeed, stage };
}
