import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { stippleVersion } from "./version.js";

/**
 * The disk compile cache: what is slow to make (PTX from NVRTC or nvcc) kept across processes, keyed by what
 * determines it (the compiler version, the target and the kernel source or structural hash).
 *
 * - Atomic: an entry is written to a temporary file in the same directory and renamed into place, so a
 *   reader sees a whole entry or none, and concurrent writers of one key (who write the same bytes) are safe.
 * - Self-healing: each entry carries a SHA-256 of its payload; a truncated or corrupt entry is deleted and
 *   treated as a miss, then rewritten by the next compile.
 * - Never in the way: any file-system error (read-only home, full disk) makes the cache a no-op.
 *
 * Where: $STIPPLE_CACHE_DIR, else $XDG_CACHE_HOME/stipple, else ~/.cache/stipple. STIPPLE_CACHE=off disables it.
 */
const magic = "stipple-cache 1\n";

export interface DiskCache {
  get(key: string): string | undefined;
  put(key: string, payload: string): void;
  /** The entry's path, for tests and for `--verbose` reports. */
  pathOf(key: string): string;
}

export function cacheDirectory(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env["STIPPLE_CACHE"] === "off") return undefined;
  return env["STIPPLE_CACHE_DIR"] ?? join(env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "stipple");
}

export function diskCache(directory: string | undefined = cacheDirectory()): DiskCache {
  const pathOf = (key: string): string => join(directory ?? "", `${sha256(`${stippleVersion}\0${key}`)}.entry`);
  if (directory === undefined) return { get: () => undefined, put: () => undefined, pathOf };
  return {
    pathOf,
    get: (key) => {
      const path = pathOf(key);
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        return undefined;
      }
      const checksumEnd = text.indexOf("\n", magic.length);
      const payload = text.slice(checksumEnd + 1);
      if (text.startsWith(magic) && checksumEnd > 0 && text.slice(magic.length, checksumEnd) === sha256(payload)) return payload;
      remove(path);
      return undefined;
    },
    put: (key, payload) => {
      const path = pathOf(key);
      const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        mkdirSync(directory, { recursive: true });
        writeFileSync(temporary, `${magic}${sha256(payload)}\n${payload}`);
        renameSync(temporary, path);
      } catch {
        remove(temporary);
      }
    },
  };
}

function remove(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // A read-only cache directory: the entry stays, and is checked (and refused) again next time.
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
