import { diagnostic, DiagnosticError } from "../diagnostics/diagnostic.js";
import type { Dtype } from "../ir/kernel/kernel.js";
import type { Sizes } from "../ir/pattern/eval-int.js";

/** The tensors of one attention problem as every backend's runtime takes and returns them. */
export interface AttentionTensors {
  /** [H, Q, D] */
  readonly q: Float32Array;
  /** [KVH, K, D] */
  readonly k: Float32Array;
  /** [KVH, K, D] */
  readonly v: Float32Array;
}

export interface AttentionResult {
  /** [H, Q, D] */
  readonly out: Float32Array;
  /** [H, Q], natural log; −∞ on rows that keep no key. */
  readonly lse: Float32Array;
}

/**
 * The smallest magnitude that rounds to infinity in each tensor type (round to nearest even): a value at or
 * past it would reach the kernel as ±Inf.
 */
const overflowAt: Record<Dtype, number> = { f32: Infinity, f16: 65520, bf16: 2 ** 128 * (1 - 2 ** -9) };

/**
 * Checks tensors before anything is uploaded: shapes (q [H, Q, D], k and v [KVH, K, D]; STP902), and every
 * value finite and inside the tensor type's range (STP316). A NaN or ±Inf would spread through the
 * softmax to every row sharing its tiles, so it is refused with its position instead.
 */
export function checkTensors(tensors: AttentionTensors, sizes: Sizes, headDim: number, dtype: Dtype): void {
  const shapes: [keyof AttentionTensors, number, number][] = [["q", sizes.H, sizes.Q], ["k", sizes.KVH, sizes.K], ["v", sizes.KVH, sizes.K]];
  for (const [name, heads, rows] of shapes) {
    const length = heads * rows * headDim;
    if (tensors[name].length !== length) {
      throw new DiagnosticError([diagnostic("STP902", `${name} has ${tensors[name].length} values, expected ${length} (${heads} × ${rows} × ${headDim})`, { hint: "q is [H, Q, D]; k and v are [KVH, K, D]" })]);
    }
  }
  for (const [name, heads, rows] of shapes) {
    const data = tensors[name];
    const limit = overflowAt[dtype];
    for (let at = 0; at < data.length; at++) {
      const x = data[at] ?? 0;
      if (Number.isFinite(x) && Math.abs(x) < limit) continue;
      const d = at % headDim, row = Math.floor(at / headDim) % rows, head = Math.floor(at / (headDim * rows));
      const what = Number.isFinite(x) ? `${x}, beyond the largest ${dtype} (it would become ${x < 0 ? "-" : ""}Inf)` : String(x);
      throw new DiagnosticError([diagnostic("STP316", `${name}[${head}, ${row}, ${d}] is ${what}`, {
        hint: Number.isFinite(x) ? `scale the tensor, or use ${dtype === "f16" ? "f32 or bf16" : "f32"}` : `every value of q, k and v must be finite (of ${heads} × ${rows} × ${headDim})`,
      })]);
    }
  }
}
