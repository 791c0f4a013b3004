import { diagnostic, DiagnosticError } from "../diagnostics/diagnostic.js";
import type { Dtype } from "../ir/kernel/kernel.js";
import { kvHeadOf } from "../ir/pattern/binding.js";
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
 * softmax to every row sharing its tiles, so it is refused with its position instead; so are finite values
 * large enough for a kernel's f32 sums to overflow (checkScoreRange, checkAccumulatorRange).
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
  checkScoreRange(tensors, sizes, headDim);
  checkAccumulatorRange(tensors, sizes, headDim);
}

/**
 * What a bound on a kernel's f32 sums may reach: half the largest f32, so that the rounding of the sum it
 * bounds (a relative 2⁻²⁴ a term) cannot carry it past the largest.
 */
const f32SumLimit = 2 ** 127;

/** The row of largest Euclidean norm in each head of a [heads, rows, D] tensor, and that norm. */
function largestRows(data: Float32Array, heads: number, rows: number, headDim: number): { row: number; norm: number }[] {
  return Array.from({ length: heads }, (_, head) => {
    let best = { row: 0, norm: 0 };
    for (let row = 0; row < rows; row++) {
      let squares = 0;
      for (let d = 0; d < headDim; d++) squares += (data[(head * rows + row) * headDim + d] ?? 0) ** 2;
      if (Math.sqrt(squares) > best.norm) best = { row, norm: Math.sqrt(squares) };
    }
    return best;
  });
}

/**
 * Checks that no score a kernel sums in f32 can overflow, from finite inputs (STP316); an overflow would come
 * out as Inf or NaN with no other sign. A score adds `scoreTerms` products q·k (1 in attention and in most
 * estimators, XAttention's stride in its scoring), each at most ‖q row‖·‖k row‖ (Cauchy–Schwarz), partial
 * sums included; the softmax scale is applied after the sum. The bound, in Float64, takes a head's largest
 * rows, so it refuses only inputs within a few powers of two of f32's range (|values| around 10¹⁸), far
 * from any model's activations.
 */
export function checkScoreRange(tensors: AttentionTensors, sizes: Sizes, headDim: number, scoreTerms = 1): void {
  const queries = largestRows(tensors.q, sizes.H, sizes.Q, headDim), keys = largestRows(tensors.k, sizes.KVH, sizes.K, headDim);
  for (let head = 0; head < sizes.H; head++) {
    const kvHead = kvHeadOf(head, sizes);
    const q = queries[head], k = keys[kvHead];
    if (q === undefined || k === undefined || q.norm * k.norm * scoreTerms < f32SumLimit) continue;
    const terms = scoreTerms === 1 ? "" : ` × ${scoreTerms} terms`;
    throw new DiagnosticError([diagnostic("STP316", `q·k can overflow f32: ‖q[${head}, ${q.row}]‖ · ‖k[${kvHead}, ${k.row}]‖${terms} = ${(q.norm * k.norm * scoreTerms).toExponential(2)}, past 2^127`, {
      hint: "scale q or k down: the softmax scale is applied after the dot product, so it cannot keep the sum in range",
    })]);
  }
}

/**
 * Checks that the output's f32 accumulator cannot overflow (STP316): per key visited (at most K) it adds v
 * weighted by exp(s − running max) ≤ 1, so K·max |v| of a key/value head bounds it.
 */
export function checkAccumulatorRange(tensors: AttentionTensors, sizes: Sizes, headDim: number): void {
  for (let kvHead = 0; kvHead < sizes.KVH; kvHead++) {
    let largest = 0, at = 0;
    for (let index = kvHead * sizes.K * headDim; index < (kvHead + 1) * sizes.K * headDim; index++) {
      const magnitude = Math.abs(tensors.v[index] ?? 0);
      if (magnitude > largest) [largest, at] = [magnitude, index];
    }
    if (largest * sizes.K < f32SumLimit) continue;
    const row = Math.floor(at / headDim) % sizes.K, d = at % headDim;
    throw new DiagnosticError([diagnostic("STP316", `the output's f32 accumulator can overflow: |v[${kvHead}, ${row}, ${d}]| = ${largest.toExponential(2)}, added over up to K = ${sizes.K} keys, reaches ${(largest * sizes.K).toExponential(2)}, past 2^127`, {
      hint: "scale v down (the output scales with it)",
    })]);
  }
}
