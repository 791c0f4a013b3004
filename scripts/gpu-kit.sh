#!/usr/bin/env bash
# Packs what scripts/gpu-session.sh needs on the GPU machine, which reaches no registry and has no Node:
# this machine's node binary, the built dist/, the node_modules the GPU suites load (not the WebGPU,
# TypeScript or browser ones), and the GPU benchmark's PTX and manifest (bench/gpu/kernels/), in .gpu-kit/
# (ignored by git). Then, with the device tool:
#   run  command "bash scripts/gpu-session.sh"  carry [".gpu-kit"]  timeout_s 590
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.gpu-kit
npm run build --silent
node dist/bench/run.js cuda-export
rm -rf "$kit"
mkdir -p "$kit"
tar -c \
  --exclude='node_modules/webgpu' --exclude='node_modules/typescript' --exclude='node_modules/playwright-core' \
  --exclude='node_modules/@ts-morph' --exclude='node_modules/ts-morph' --exclude='node_modules/@types' \
  --exclude='node_modules/lightningcss*' --exclude='node_modules/.cache' --exclude='node_modules/.vite' \
  node_modules dist bench/gpu/kernels | xz -T0 -6 > "$kit/tree.tar.xz"
xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > "$kit/node.xz"
# The device machine gets no .git: the commit travels in the kit (the benchmarks record it).
{ git rev-parse --short HEAD; [ -z "$(git status --porcelain --untracked-files=no)" ] || echo "+uncommitted"; } | paste -sd '' > "$kit/commit"
kit_bytes=$(du -cb "$kit" | tail -n 1 | cut -f 1)
tree_bytes=$(git ls-files -z | xargs -0 du -cb | tail -n 1 | cut -f 1)
total=$(( (kit_bytes + tree_bytes) / 1048576 ))
echo "gpu kit: $(( kit_bytes / 1048576 )) MiB in $kit, with the tracked tree about ${total} MiB of the device tool's 64 MiB (commit $(cat "$kit/commit"))"
if [ "$total" -ge 62 ]; then
  echo "gpu kit: too large for the device tool's 64 MiB" >&2
  exit 1
fi
