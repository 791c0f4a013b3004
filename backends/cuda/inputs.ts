/**
 * CUDA accessors for runtime inputs, reading the packed words (`aux`, a kernel parameter) through the
 * directory at their start (per input: base, words per leaf, rows, columns; see passes/device-inputs.ts).
 * They are the WGSL accessors (backends/wgsl/inputs.ts) rule for rule: out-of-range positions and blocks
 * are not in a set, as in the mask evaluator, and no access leaves its leaf. They are lambdas over `aux`, so
 * the printed masks and tile classifiers call them by the same names as in WGSL.
 */
const accessors: readonly Helper[] = [
  { name: "aux_bit", code: `  auto aux_bit = [&](unsigned slot, int leaf, int index, int count) -> bool {
    if (index < 0 || index >= count) return false;
    const unsigned word = aux[aux[4u * slot] + aux[4u * slot + 1u] * (unsigned)leaf + (unsigned)index / 32u];
    return ((word >> ((unsigned)index % 32u)) & 1u) != 0u;
  };` },
  { name: "in_index", code: "  auto in_index = [&](unsigned slot, int leaf, int value) -> bool { return aux_bit(slot, leaf, value, (int)aux[4u * slot + 3u]); };" },
  { name: "in_blocks", code: `  auto in_blocks = [&](unsigned slot, int leaf, int row, int col) -> bool {
    const int rows = (int)aux[4u * slot + 2u], cols = (int)aux[4u * slot + 3u];
    if (row < 0 || row >= rows || col < 0 || col >= cols) return false;
    return aux_bit(slot, leaf, row * cols + col, rows * cols);
  };` },
  { name: "table_at", code: "  auto table_at = [&](unsigned slot, int leaf) -> bool { return aux[aux[4u * slot] + (unsigned)leaf] != 0u; };" },
  { name: "ids_at", code: `  auto ids_at = [&](unsigned slot, int position) -> int {
    const int count = (int)aux[4u * slot + 3u];
    return (int)aux[aux[4u * slot] + (unsigned)min(max(position, 0), count - 1)];
  };` },
  // The range helpers that read inputs (the tile classifier's).
  { name: "index_members", code: `  // Members of an index list among the values r.x..r.y (values outside the list's range are not members).
  auto index_members = [&](unsigned slot, int leaf, Range r) -> int {
    const int lo = max(r.x, 0), hi = min(r.y, (int)aux[4u * slot + 3u] - 1);
    int members = 0;
    if (lo <= hi) {
      const unsigned base = aux[4u * slot] + aux[4u * slot + 1u] * (unsigned)leaf;
      for (int w = lo / 32; w <= hi / 32; w++) {
        const unsigned first = (unsigned)max(lo - w * 32, 0);
        const unsigned width = (unsigned)min(hi - w * 32, 31) - first + 1u;
        const unsigned mask = width == 32u ? 0xffffffffu : ((1u << width) - 1u) << first;
        members += __popc(aux[base + (unsigned)w] & mask);
      }
    }
    return members;
  };` },
  { name: "in_index_class", code: "  auto in_index_class = [&](unsigned slot, int leaf, Range r) -> unsigned { return class_of_count(index_members(slot, leaf, r), r.y - r.x + 1); };" },
  { name: "in_blocks_class", code: `  // Members of a block set in the rectangle rows.x..rows.y × cols.x..cols.y.
  auto in_blocks_class = [&](unsigned slot, int leaf, Range rows, Range cols) -> unsigned {
    const int row_count = (int)aux[4u * slot + 2u], col_count = (int)aux[4u * slot + 3u];
    int members = 0;
    for (int r = max(rows.x, 0); r <= min(rows.y, row_count - 1); r++) {
      for (int c = max(cols.x, 0); c <= min(cols.y, col_count - 1); c++) members += aux_bit(slot, leaf, r * col_count + c, row_count * col_count) ? 1 : 0;
    }
    return class_of_count(members, (rows.y - rows.x + 1) * (cols.y - cols.x + 1));
  };` },
  { name: "ids_range", code: `  // The smallest and largest id at positions at.x..at.y (clamped to the ids, as ids_at does).
  auto ids_range = [&](unsigned slot, Range at) -> Range {
    const int last = (int)aux[4u * slot + 3u] - 1;
    int lo = ids_at(slot, min(max(at.x, 0), last)), hi = lo;
    for (int p = min(max(at.x, 0), last) + 1; p <= min(max(at.y, 0), last); p++) {
      const int id = ids_at(slot, p);
      lo = min(lo, id);
      hi = max(hi, id);
    }
    return Range{lo, hi};
  };` },
];

interface Helper {
  readonly name: string;
  readonly code: string;
}

/**
 * The accessors (lambdas over `aux`, printed inside a kernel) that `code` calls, with those they call, in
 * dependency order; none when it reads no input. Printing only these keeps nvcc's unused-lambda warnings out.
 */
export function inputAccessorsCuda(code: string): string {
  const needed = new Set<string>();
  for (const helper of [...accessors].reverse()) {
    const calls = (text: string): boolean => new RegExp(`\\b${helper.name}\\(`).test(text);
    if (calls(code) || accessors.some((other) => needed.has(other.name) && calls(other.code))) needed.add(helper.name);
  }
  return accessors.filter((helper) => needed.has(helper.name)).map((helper) => `${helper.code}\n`).join("");
}

/**
 * Ranges (lo, hi) and tile classes (0 none, 1 some, 2 all) in CUDA: the rules of ir/mask/tile-class.ts one
 * for one (and of the WGSL builder's helpers), so the device index equals the host reference bit for bit.
 * The pure ones are these functions; those that read inputs are accessors above.
 */
export const rangeHelpersCuda = `
struct Range { int x, y; };
__device__ __forceinline__ Range rng(int lo, int hi) { return Range{lo, hi}; }
__device__ __forceinline__ Range r_add(Range a, Range b) { return Range{a.x + b.x, a.y + b.y}; }
__device__ __forceinline__ Range r_sub(Range a, Range b) { return Range{a.x - b.y, a.y - b.x}; }
__device__ __forceinline__ Range r_neg(Range a) { return Range{-a.y, -a.x}; }
__device__ __forceinline__ Range r_min(Range a, Range b) { return Range{min(a.x, b.x), min(a.y, b.y)}; }
__device__ __forceinline__ Range r_max(Range a, Range b) { return Range{max(a.x, b.x), max(a.y, b.y)}; }
// Products and floor quotients (divisor >= 1) are monotone in each argument: the corners bound them.
__device__ __forceinline__ Range corners(int a, int b, int c, int d) { return Range{min(min(a, b), min(c, d)), max(max(a, b), max(c, d))}; }
__device__ __forceinline__ Range r_mul(Range a, Range b) { return corners(a.x * b.x, a.x * b.y, a.y * b.x, a.y * b.y); }
__device__ __forceinline__ Range r_div(Range a, Range b) {
  return corners(floor_div(a.x, b.x), floor_div(a.x, b.y), floor_div(a.y, b.x), floor_div(a.y, b.y));
}
__device__ __forceinline__ Range r_mod(Range a, Range b) {
  if (b.x == b.y && floor_div(a.x, b.x) == floor_div(a.y, b.x)) return Range{floor_mod(a.x, b.x), floor_mod(a.y, b.x)};
  return Range{0, b.y - 1};
}

__device__ __forceinline__ unsigned c_not(unsigned a) { return 2u - a; }
__device__ __forceinline__ unsigned c_and(unsigned a, unsigned b) {
  if (a == 0u || b == 0u) return 0u;
  return a == 2u && b == 2u ? 2u : 1u;
}
__device__ __forceinline__ unsigned c_or(unsigned a, unsigned b) { return c_not(c_and(c_not(a), c_not(b))); }
__device__ __forceinline__ unsigned c_ite(unsigned c, unsigned t, unsigned e) {
  if (c == 2u) return t;
  if (c == 0u) return e;
  return t == e ? t : 1u;
}
__device__ __forceinline__ unsigned c_lt(Range a, Range b) {
  if (a.y < b.x) return 2u;
  return a.x >= b.y ? 0u : 1u;
}
__device__ __forceinline__ unsigned c_le(Range a, Range b) {
  if (a.y <= b.x) return 2u;
  return a.x > b.y ? 0u : 1u;
}
__device__ __forceinline__ unsigned c_eq(Range a, Range b) {
  if (a.y < b.x || b.y < a.x) return 0u;
  return a.x == a.y && b.x == b.y ? 2u : 1u;
}
__device__ __forceinline__ unsigned class_of_count(int members, int total) {
  if (members == 0) return 0u;
  return members == total ? 2u : 1u;
}
`;
