/**
 * The WGSL attention kernel's row state and K/V tiles in quads: the head dim as D / 4 vec4 values, every
 * loop over it printed unrolled. A row's q and output accumulator are module-scope vec4 variables q0, q1, …
 * and a0, a1, … (not arrays), and the tiles hold vec4s, so each step of a dot product or an accumulate is
 * one vec4 multiply-add with constant indices. Why: a private array walked by a loop lives in memory on
 * software adapters (a load or store per element, plus the loop's own work); unrolled, the row state stays
 * in registers. On SwiftShader this halves the time of every attention kernel (causal-dense at 2k, D 64:
 * 571 → 286 ms); on a GPU it is the usual vectorised shared-memory read. Head dims are multiples of 4.
 */

/** The quads of a head dim: 0 .. D / 4 - 1. */
export function quadsOf(headDim: number): number[] {
  if (headDim % 4 !== 0) throw new Error(`the WGSL kernels read vec4s: head dim ${headDim} is not a multiple of 4`);
  return Array.from({ length: headDim / 4 }, (_, c) => c);
}

/** `sum4(v)`: the sum of a quad's four lanes. */
export const sum4Wgsl = "fn sum4(v: vec4<f32>) -> f32 { return v.x + v.y + v.z + v.w; }\n";

/** The row's q (q0 …) and output accumulator (a0 …), and sum4. */
export function rowStateWgsl(headDim: number): string {
  const quads = quadsOf(headDim);
  return `// The row's q and output accumulator as vec4 quads of the head dim (registers, not arrays).
${quads.map((c) => `var<private> q${c}: vec4<f32>;`).join("\n")}
${quads.map((c) => `var<private> a${c}: vec4<f32>;`).join("\n")}

${sum4Wgsl}`;
}

/** q · k, where quad c of the key is `keyQuad(c)` and of q `queryQuad(c)` (the row's own q by default): one expression. */
export function qDotWgsl(headDim: number, keyQuad: (c: number) => string, queryQuad: (c: number) => string = (c) => `q${c}`): string {
  return `sum4(${quadsOf(headDim).map((c) => `${queryQuad(c)} * ${keyQuad(c)}`).join(" + ")})`;
}

/** Statements: every accumulator quad set to `value(c)` (an expression in `a${c}`, or not). */
export function setAccumulatorWgsl(headDim: number, value: (c: number) => string, indent: string): string {
  return quadsOf(headDim).map((c) => `${indent}a${c} = ${value(c)};`).join("\n");
}

/**
 * Statements of the online softmax before a block of scores is folded in: the row's new maximum `new_max`
 * (block_max, or the larger of the two once the row kept a key), its sum and accumulator rescaled to it.
 */
export function rescaleRowWgsl(headDim: number, indent: string): string {
  return `${indent}let new_max = select(block_max, max(row_max, block_max), row_kept);
${indent}let alpha = select(0.0, exp(row_max - new_max), row_kept);
${indent}row_sum *= alpha;
${setAccumulatorWgsl(headDim, (c) => `a${c} * alpha`, indent)}`;
}

/**
 * Stages BN keys' K and V quads into k_tile and v_tile, every invocation helping: element e is quad
 * e mod QUADS of the tile's key j = e / QUADS; `keyOf` is that key's position (an expression in j), `valid`
 * says whether it is loaded.
 */
export function stageTileWgsl(keyOf: string, valid: string): string {
  return `  for (var e = local; e < BN * QUADS; e += BM) {
    let j = e / QUADS;
    let key = ${keyOf};
    if (${valid}) {
      let at = (kv_head * K_LEN + key) * D + 4 * (e % QUADS);
      k_tile[e] = k_quad(at);
      v_tile[e] = v_quad(at);
    }
  }`;
}
