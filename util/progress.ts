/**
 * A progress line on stderr for long work (fuzzing, benchmarks): redrawn in place on a terminal, one line
 * per tenth of the work otherwise (CI logs), nothing when quiet. Results go to stdout, never here.
 */
export interface Progress {
  /** `done` of `total` units; `detail` is a short status ("3 failures"). */
  update(done: number, detail?: string): void;
  finish(detail?: string): void;
}

export function progress(label: string, total: number, options: { readonly quiet?: boolean; readonly stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet === true || total <= 0) return { update: () => undefined, finish: () => undefined };
  const start = performance.now();
  const live = stream.isTTY === true;
  let lastTenth = -1;
  let lastDraw = 0;
  const line = (done: number, detail: string): string => {
    const fraction = Math.min(1, done / total);
    const width = 24;
    const filled = Math.round(fraction * width);
    const seconds = (performance.now() - start) / 1000;
    const eta = done > 0 && fraction < 1 ? ` eta ${Math.ceil((seconds / done) * (total - done))} s` : "";
    return `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${seconds.toFixed(0)} s${eta}${detail === "" ? "" : ` · ${detail}`}`;
  };
  return {
    update: (done, detail = "") => {
      if (live) {
        const now = performance.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        stream.write(`\r${line(done, detail)}\x1b[K`);
        return;
      }
      const tenth = Math.floor((10 * done) / total);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      stream.write(`${line(done, detail)}\n`);
    },
    finish: (detail = "") => {
      stream.write(live ? `\r${line(total, detail)}\x1b[K\n` : `${line(total, detail)}\n`);
    },
  };
}
