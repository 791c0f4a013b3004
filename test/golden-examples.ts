/** Every example, in the order the golden files and the compile checks list them. */
export const goldenExamples = ["a_shape", "sliding_window", "tri_shape", "dilated", "prefix_lm", "grid", "ladder", "duo", "vertical_slash", "block_sparse", "document"] as const;

/** Runtime inputs do not change a kernel's text; these only satisfy binding (2 heads, Q = K = 1). */
export const goldenInputs: Record<string, Record<string, unknown>> = {
  duo: { retrieval: [[0, 1]] },
  vertical_slash: { vertical: [[0], [0]], slash: [[0], [0]] },
  block_sparse: { blocks: [[[1]], [[1]]] },
  document: { doc: [0] },
};
