"""Argument lists for Stipple's CUDA kernels, built by parameter name (no torch or CuPy needed here).

The manifest `npm run bench -- cuda-export` writes lists each kernel's parameters in order, read off its
source (backends/cuda/signature.ts). Launching by name means a parameter added to a kernel fails loudly here
instead of shifting every argument after it.
"""


def static_prefill_values(pointers, length, heads, kv_heads, layer):
    """The values of a static pattern's kernel for one prefill launch: q, k, v, out, lse and the head list
    as device pointers (ints); Q = K = length; no split, no GQA packing (prefill fills the GPU unsplit,
    backends/split-k.ts)."""
    return {
        "q_in": ("pointer", pointers["q"]), "k_in": ("pointer", pointers["k"]), "v_in": ("pointer", pointers["v"]),
        "out": ("pointer", pointers["out"]), "lse": ("pointer", pointers["lse"]), "head_list": ("pointer", pointers["heads"]),
        "q_len": ("int", length), "k_len": ("int", length), "heads": ("int", heads), "kv_heads": ("int", kv_heads),
        "layers": ("int", 1), "layer": ("int", layer), "splits": ("int", 1), "pack": ("int", 1),
    }


def launch_arguments(parameters, values):
    """The (kind, value) pairs in the kernel's parameter order; a parameter with no value is an error."""
    missing = [name for name in parameters if name not in values]
    if missing:
        raise KeyError(f"no value for kernel parameter(s) {', '.join(missing)}: update bench/gpu/launch_args.py")
    return [values[name] for name in parameters]
