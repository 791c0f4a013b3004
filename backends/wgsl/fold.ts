import { qDotWgsl, rescaleRowWgsl, setAccumulatorWgsl } from "./quads.js";

/**
 * The rest of a visit, after its header loaded the tile into k_tile and v_tile: each valid row lists the
 * tile's keys it keeps (`keepLine` sets `keep` for key j), then scores them and folds them into its online
 * softmax. The loops run over the listed keys, not over the tile with a test inside: on a software adapter
 * a branch runs its body for masked lanes too, and an unrolled dot product is a large body, so a row would
 * pay for every key it drops; a loop stops when no lane has trips left, so a row pays only for its kept keys
 * (and its neighbours', in a SIMD group: rows next to each other keep about as many). When `whole` holds
 * (a full tile), every row keeps keys 0 .. count − 1: no list is built and the keys are read in order, the
 * same key in every lane (on SwiftShader, 345 → 337 ms for vertical-slash at 8k, 5 %).
 */
export function foldTileWgsl(keepLine: string, blockN: number, headDim: number, whole?: string): string {
  const listed = `for (var j = 0; j < count; j++) {
      ${keepLine}
      if (keep) {
        kept[kept_count] = j;
        kept_count++;
      }
    }`;
  return `  workgroupBarrier();
  if (row < Q_LEN) {
    let q = K_LEN - Q_LEN + row;
    var kept: array<i32, ${blockN}>;
    var kept_count = 0;
    ${whole === undefined ? listed : `if (${whole}) {
      kept_count = count;
    } else {
      ${listed.replaceAll("\n", "\n  ")}
    }`}
    var scores: array<f32, ${blockN}>;
    var block_max = 0.0;
    for (var n = 0; n < kept_count; n++) {
      let at = ${keyAt(whole)} * QUADS;
      scores[n] = ${qDotWgsl(headDim, (c) => `k_tile[at + ${c}]`)} * SCALE;
      block_max = select(scores[n], max(block_max, scores[n]), n > 0);
    }
    if (kept_count > 0) {
${rescaleRowWgsl(headDim, "      ")}
      for (var n = 0; n < kept_count; n++) {
        let p = exp(scores[n] - new_max);
        row_sum += p;
        let at = ${keyAt(whole)} * QUADS;
${setAccumulatorWgsl(headDim, (c) => `a${c} + p * v_tile[at + ${c}]`, "        ")}
      }
      row_max = new_max;
      row_kept = true;
    }
  }
  workgroupBarrier();
}`;
}

/** The tile position of a row's n-th kept key. */
const keyAt = (whole: string | undefined): string => (whole === undefined ? "kept[n]" : `select(kept[n], n, ${whole})`);
