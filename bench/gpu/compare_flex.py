#!/usr/bin/env python3
"""Stipple's CUDA kernels vs FlexAttention vs dense FlashAttention (SDPA), side by side on one GPU.

Input: the manifest `npm run bench -- cuda-export` writes (PTX of every static example's kernels, the same
masks as FlexAttention mask_mods, launch geometry per length). Needs PyTorch (with flex_attention) and
CuPy on the GPU machine; not Node. For each case and length, in one process and interleaved:

  - Stipple: the PTX loaded with CuPy, launched on torch's tensors (bf16 q/k/v [H, L, D], f32 out, lse);
  - FlexAttention: torch.compile(flex_attention) with create_block_mask(mask_mod), BLOCK_SIZE 128;
  - SDPA: F.scaled_dot_product_attention(is_causal=True) on the FlashAttention backend.

Reports ms (CUDA events, median of repeated runs), TFLOP/s counted on kept pairs (4·D flops per pair),
speedup over SDPA and over FlexAttention, the ideal speedup (causal pairs / kept pairs) and the ratio,
FlexAttention's BlockMask build time and memory, and the max difference between Stipple's and
FlexAttention's outputs. Writes bench/results/cuda-flex.json with the device name.
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

import cupy
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from launch_args import launch_arguments, static_prefill_values  # noqa: E402


def load_mask_factory(path):
    scope = {}
    exec(path.read_text(), scope)
    return scope["make_mask_mod"]


def median_ms(run, reps):
    run()
    torch.cuda.synchronize()
    samples = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        torch.cuda.synchronize()
        samples.append(start.elapsed_time(end))
    return statistics.median(samples)


def kept_pairs(mask_mod, heads, length, chunk=1024):
    """Exact count of kept (query, key) pairs over all heads, evaluated on the GPU in row chunks."""
    keys = torch.arange(length, device="cuda")[None, :]
    total = 0
    for h in range(heads):
        head = torch.tensor(h, device="cuda")
        for start in range(0, length, chunk):
            rows = torch.arange(start, min(length, start + chunk), device="cuda")[:, None]
            total += int(mask_mod(0, head, rows, keys).sum())
    return total


def block_mask_bytes(block_mask):
    return sum(t.numel() * t.element_size() for t in block_mask.as_tuple() if isinstance(t, torch.Tensor))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=pathlib.Path)
    parser.add_argument("--lengths", help="comma-separated subset of the manifest's lengths")
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("bench/results/cuda-flex.json"))
    args = parser.parse_args()

    manifest = json.loads(args.manifest.read_text())
    root = args.manifest.parent
    lengths = [int(x) for x in args.lengths.split(",")] if args.lengths else manifest["lengths"]
    only = set(args.only.split(",")) if args.only else None
    heads, kv_heads, dim = manifest["heads"], manifest["kvHeads"], manifest["headDim"]
    device_name = torch.cuda.get_device_name()
    print(f"device: {device_name}; torch {torch.__version__}; cupy {cupy.__version__}; stipple {manifest['commit']} ({manifest['arch']})")
    flex = torch.compile(flex_attention, dynamic=False)
    rows = []
    mismatches = 0

    def write_results():
        # After every row too: a run stopped part way (a time limit) keeps what it measured.
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "device": device_name, "torch": torch.__version__, "cupy": cupy.__version__, "stipple_commit": manifest["commit"],
            "arch": manifest["arch"], "head_dim": dim, "dtype": manifest["dtype"], "heads": heads, "kv_heads": kv_heads,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows,
        }, indent=2) + "\n")

    for case in manifest["cases"]:
        if only and case["case"] not in only:
            continue
        factory = load_mask_factory(root / case["maskMod"])
        kernels = []
        for launch in case["launches"]:
            module = cupy.RawModule(path=str(root / launch["ptx"]))
            head_list = torch.tensor(launch["heads"], dtype=torch.int32, device="cuda")
            function = module.get_function(launch["kernel"])
            shared = launch.get("dynamicSharedBytes", 0)
            if shared > 48 * 1024:
                # Wide head dims: past 48 KiB of dynamic shared memory the kernel's limit must be raised first.
                cupy.cuda.driver.funcSetAttribute(function.ptr, cupy.cuda.driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared)
            kernels.append((function, launch, head_list))

        for length in lengths:
            torch.manual_seed(0)
            q = torch.randn(1, heads, length, dim, device="cuda", dtype=torch.bfloat16)
            k = torch.randn(1, kv_heads, length, dim, device="cuda", dtype=torch.bfloat16)
            v = torch.randn(1, kv_heads, length, dim, device="cuda", dtype=torch.bfloat16)
            out = torch.empty(heads, length, dim, device="cuda", dtype=torch.float32)
            lse = torch.empty(heads, length, device="cuda", dtype=torch.float32)

            pointers = {"q": q.data_ptr(), "k": k.data_ptr(), "v": v.data_ptr(), "out": out.data_ptr(), "lse": lse.data_ptr()}
            launches = []
            for function, launch, head_list in kernels:
                grid = (launch["queryTiles"][str(length)], 1, len(launch["heads"]))
                values = static_prefill_values({**pointers, "heads": head_list.data_ptr()}, length, heads, kv_heads, launch["layer"])
                arguments = tuple(cupy.uint64(x) if kind == "pointer" else cupy.int32(x) for kind, x in launch_arguments(launch["parameters"], values))
                launches.append((function, grid, arguments, launch.get("dynamicSharedBytes", 0)))

            def stipple():
                for function, grid, arguments, shared in launches:
                    function(grid, (manifest["threadsPerBlock"],), arguments, shared_mem=shared)

            mask_mod = factory(length, length, heads, kv_heads)
            torch.cuda.synchronize()
            started = time.perf_counter()
            block_mask = create_block_mask(mask_mod, 1, heads, length, length, device="cuda", BLOCK_SIZE=128)
            torch.cuda.synchronize()
            first_build_ms = (time.perf_counter() - started) * 1e3
            started = time.perf_counter()
            block_mask = create_block_mask(mask_mod, 1, heads, length, length, device="cuda", BLOCK_SIZE=128)
            torch.cuda.synchronize()
            build_ms = (time.perf_counter() - started) * 1e3

            def flex_run():
                return flex(q, k, v, block_mask=block_mask, enable_gqa=heads != kv_heads)

            def sdpa_run():
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=heads != kv_heads)

            stipple_ms = median_ms(stipple, args.reps)
            flex_ms = median_ms(flex_run, args.reps)
            sdpa_ms = median_ms(sdpa_run, args.reps)
            flex_out = flex_run()[0].float()
            difference = float((out - flex_out).abs().max())
            # The two bf16 kernels round differently; anything past bf16's tolerance (ir/reference/tolerance.ts)
            # of the output's scale is a wrong kernel, and its speed means nothing.
            matches = difference <= 3e-2 * max(1.0, float(flex_out.abs().max()))
            mismatches += 0 if matches else 1

            kept = kept_pairs(mask_mod, heads, length)
            causal = heads * length * (length + 1) // 2
            tflops = lambda pairs, ms: 4 * dim * pairs / (ms * 1e-3) / 1e12
            row = {
                "case": case["case"], "params": case["params"], "length": length,
                "density": kept / causal, "ideal_speedup": causal / kept,
                "stipple_ms": stipple_ms, "flex_ms": flex_ms, "sdpa_ms": sdpa_ms,
                "stipple_tflops": tflops(kept, stipple_ms), "flex_tflops": tflops(kept, flex_ms), "sdpa_tflops": tflops(causal, sdpa_ms),
                "speedup_over_sdpa": sdpa_ms / stipple_ms, "speedup_over_flex": flex_ms / stipple_ms,
                "ratio": (sdpa_ms / stipple_ms) / (causal / kept),
                "block_mask_build_ms": build_ms, "block_mask_first_build_ms": first_build_ms, "block_mask_bytes": block_mask_bytes(block_mask),
                "max_abs_difference_vs_flex": difference, "matches_flex": matches,
            }
            rows.append(row)
            write_results()
            print(f"{case['case']:>15} L={length:>6} density {row['density']:.3f} | stipple {stipple_ms:8.3f} ms "
                  f"({row['stipple_tflops']:6.1f} TF/s) | flex {flex_ms:8.3f} ms | sdpa {sdpa_ms:8.3f} ms | "
                  f"×flex {row['speedup_over_flex']:5.2f} | ×sdpa {row['speedup_over_sdpa']:5.2f} (ideal {row['ideal_speedup']:5.2f}, "
                  f"ratio {row['ratio']:4.2f}) | BlockMask {build_ms:7.1f} ms {row['block_mask_bytes'] / 2**20:7.2f} MiB | "
                  f"|Δ| vs flex {difference:.2e}{'' if matches else ' MISMATCH'}", flush=True)
            del q, k, v, out, lse, block_mask
            torch.cuda.empty_cache()

    write_results()
    print(f"wrote {args.out}")
    if mismatches:
        print(f"{mismatches} case(s) differ from FlexAttention beyond bf16's tolerance")
        sys.exit(1)


if __name__ == "__main__":
    main()
