/**
 * S = Q·Kᵀ for a warp's 16 query rows × BN keys of the staged K tile (k_s), on tensor cores: the part of the
 * attention kernel (emit.ts) that depends on where q lives. The head dim goes 32 columns a step (two
 * m16n8k16 products from one `ldmatrix.x4`); when D / 16 is odd (80, 112, …) the last 16 columns are one
 * product from an `ldmatrix.x2`.
 */

/** Up to 144: q's A fragments sit in registers (q_frag[D / 16]), loaded once per block. */
export function scoresFromRegisters(D: number): string {
  return `#pragma unroll
    for (int n = 0; n < BN / 8; n++) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
      for (int kc = 0; kc + 1 < D / 16; kc += 2) {
        unsigned b[4];
        ldmatrix_x4(b, k_s + (n * 8 + lane % 8) * STRIDE + kc * 16 + 8 * (lane / 8));
        mma16816(s[n], q_frag[kc], b[0], b[1]);
        mma16816(s[n], q_frag[kc + 1], b[2], b[3]);
      }
${(D / 16) % 2 === 1 ? `      {
        // D / 16 is odd (D = 80, 112, …): the last 16 columns alone, two matrices.
        unsigned b[2];
        ldmatrix_x2(b, k_s + (n * 8 + lane % 8) * STRIDE + (D - 16) + 8 * ((lane / 8) & 1));
        mma16816(s[n], q_frag[D / 16 - 1], b[0], b[1]);
      }
` : ""}    }
`;
}

/**
 * Past 144: q stays in shared memory (q_s) and its fragments are loaded at each k step, the k steps outside
 * so that each fragment is loaded once per step of SN keys and serves all SN / 8 key octets. The kernel
 * walks the tile SN keys at a time, the step's first key being j0.
 */
export function scoresFromSharedQ(D: number): string {
  return `#pragma unroll
    for (int n = 0; n < SN / 8; n++) { s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f; }
#pragma unroll
    for (int kc = 0; kc + 1 < D / 16; kc += 2) {
      unsigned a0[4], a1[4];
      load_q(a0, kc);
      load_q(a1, kc + 1);
#pragma unroll
      for (int n = 0; n < SN / 8; n++) {
        unsigned b[4];
        ldmatrix_x4(b, k_s + (j0 + n * 8 + lane % 8) * STRIDE + kc * 16 + 8 * (lane / 8));
        mma16816(s[n], a0, b[0], b[1]);
        mma16816(s[n], a1, b[2], b[3]);
      }
    }
${(D / 16) % 2 === 1 ? `    {
      // D / 16 is odd: the last 16 columns alone, two matrices.
      unsigned a[4];
      load_q(a, D / 16 - 1);
#pragma unroll
      for (int n = 0; n < SN / 8; n++) {
        unsigned b[2];
        ldmatrix_x2(b, k_s + (j0 + n * 8 + lane % 8) * STRIDE + (D - 16) + 8 * ((lane / 8) & 1));
        mma16816(s[n], a, b[0], b[1]);
      }
    }
` : ""}`;
}
