import type { KernelLaunch } from "../../ir/kernel/kernel.js";
import type { BoolNode, IntNode } from "../../ir/pattern/nodes.js";
import { assertNever } from "../../util/hash.js";

/**
 * A static pattern as a PyTorch FlexAttention `mask_mod`, for users who keep FlexAttention and for the GPU
 * benchmark, which runs FlexAttention on exactly the mask Stipple's kernels compute. The masks printed are
 * the launches' own (parameters, layer and head groups already specialized), so the two cannot drift.
 *
 * Lengths are known only per call, so the printed module defines `make_mask_mod(q_len, kv_len)`. Queries
 * sit at the end of the keys (position K_LEN − Q_LEN + q_idx), as everywhere in Stipple. The expression
 * uses `&`, `|`, `//`, `%` (floor division and remainder, as Stipple's `/` and `%` on integers) and four
 * helpers (`where`, `minimum`, `maximum`, `logical_not`) bound to torch's; plain Python ints work too, which
 * is how the tests evaluate it without torch.
 */
export function printMaskModule(patternName: string, launches: readonly KernelLaunch[], note: string): string {
  // One kernel serves all heads, or each group of heads has its own mask: select by head.
  const [only] = launches;
  const body = only !== undefined && launches.length === 1 ? bool(only.kernel.mask) : launches
    .map(({ kernel, heads }) => `((${heads.map((h) => `(h == ${h})`).join(" | ")}) & ${bool(kernel.mask)})`)
    .join(" | ");
  return `# FlexAttention mask_mod for Stipple pattern ${patternName}${note === "" ? "" : ` (${note})`}: generated, do not edit.
import torch

where, minimum, maximum, logical_not = torch.where, torch.minimum, torch.maximum, torch.logical_not


def make_mask_mod(q_len, kv_len, heads=${launches.reduce((n, l) => n + l.heads.length, 0)}, kv_heads=None, layers=1):
    """mask_mod(b, h, q_idx, kv_idx) for queries [q_len] attending to keys [kv_len] (queries last)."""
    Q_LEN, K_LEN, HEADS, LAYERS = q_len, kv_len, heads, layers
    KV_HEADS = heads if kv_heads is None else kv_heads

    def mask_mod(b, h, q_idx, kv_idx):
        return ${body}

    return mask_mod
`;
}

function bool(node: BoolNode): string {
  switch (node.kind) {
    case "true": return "(kv_idx >= 0)";
    case "false": return "(kv_idx < 0)";
    case "cmp": return `(${int(node.a)} ${node.op} ${int(node.b)})`;
    case "and": return `(${bool(node.a)} & ${bool(node.b)})`;
    case "or": return `(${bool(node.a)} | ${bool(node.b)})`;
    case "not": return `logical_not(${bool(node.a)})`;
    case "ite": return `where(${bool(node.cond)}, ${bool(node.then)}, ${bool(node.else)})`;
    case "table":
    case "inIndex":
    case "inBlocks":
      throw new Error(`runtime input ${node.input.name}: only static patterns print as a mask_mod`);
    default: return assertNever(node, "boolean node");
  }
}

function int(node: IntNode): string {
  switch (node.kind) {
    case "const": return node.value < 0 ? `(${node.value})` : String(node.value);
    case "var":
      if (node.name === "l") throw new Error("the layer should have been specialized away");
      return { q: "(K_LEN - Q_LEN + q_idx)", k: "kv_idx", i: "q_idx", h: "h", kvh: "(h * KV_HEADS // HEADS)" }[node.name];
    case "size":
      return { Q: "Q_LEN", K: "K_LEN", H: "HEADS", KVH: "KV_HEADS", L: "LAYERS" }[node.name];
    case "param":
      throw new Error(`parameter ${node.name} should have been specialized away`);
    case "add": return `(${int(node.a)} + ${int(node.b)})`;
    case "sub": return `(${int(node.a)} - ${int(node.b)})`;
    case "mul": return `(${int(node.a)} * ${int(node.b)})`;
    case "min": return `minimum(${int(node.a)}, ${int(node.b)})`;
    case "max": return `maximum(${int(node.a)}, ${int(node.b)})`;
    case "div": return `(${int(node.a)} // ${int(node.b)})`;
    case "mod": return `(${int(node.a)} % ${int(node.b)})`;
    case "neg": return `(-${int(node.a)})`;
    case "lookup": throw new Error(`runtime input ${node.input.name}: only static patterns print as a mask_mod`);
    default: return assertNever(node, "integer node");
  }
}
