import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { SourceHost } from "./load.js";

/** Reads pattern files from disk; imports resolve relative to the importing file. */
export const nodeHost: SourceHost = {
  read(path) {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
  resolve(from, spec) {
    const target = resolve(dirname(from), spec);
    // Keep paths relative to the working directory when they were given so, for shorter messages.
    const cwd = process.cwd() + "/";
    return target.startsWith(cwd) ? target.slice(cwd.length) : target;
  },
};
