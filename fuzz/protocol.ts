import type { FuzzCase } from "./generate.js";
import type { Verdict } from "./oracle.js";

/** Messages between the fuzz runner (fuzz/main.ts) and its worker processes (fuzz/worker.ts). */
export type ToWorker = {
  readonly type: "run";
  readonly seed: number;
  /** Cases [from, to) of the seed's stream. */
  readonly from: number;
  readonly to: number;
  /** Also run the kernel on the software adapter for cases n with n % deviceEvery === 0 (0: never). */
  readonly deviceEvery: number;
};

export type FromWorker =
  | { readonly type: "case"; readonly n: number; readonly ms: number; readonly origin: FuzzCase["origin"]; readonly verdict: Verdict; readonly fuzzCase?: FuzzCase }
  | { readonly type: "done" }
  | { readonly type: "error"; readonly message: string };
