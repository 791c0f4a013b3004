#!/usr/bin/env bash
# The GPU checks in one call on the device machine (see scripts/gpu-kit.sh, which packs what this needs),
# each stage under its own time limit so that one slow stage cannot eat the others, in order of need:
#   1. test-gpu      npm run test:gpu: the CUDA property suite on the GPU (STIPPLE_RUNS cases per property, default 8)
#   2. bench-cuda    npm run bench -- cuda: decode to 1M keys, dynamic sparsity stage by stage
#   3. compare-flex  bench/gpu/compare_flex.py: Stipple against FlexAttention and SDPA
#   4. sanitize      test:gpu under compute-sanitizer's memcheck, fewer cases
# Logs and results go to $OUT (what the device tool brings back: at most 8 files): session.log, one log per
# stage, cuda-gpu.json and cuda-flex.json. Limits (seconds) and sizes can be set from the environment.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out/gpu-session}
mkdir -p "$out"
exec > >(tee -a "$out/session.log") 2>&1
kit=.gpu-kit
began=$(date +%s)

# Node and the node_modules travel xz-compressed; python3's lzma unpacks them (xz may not be there).
mkdir -p /tmp/stipple-node
python3 - "$kit" <<'PY' || { echo "gpu-session: cannot unpack $kit (run scripts/gpu-kit.sh here and carry .gpu-kit)"; exit 2; }
import lzma, shutil, sys, tarfile
kit = sys.argv[1]
with lzma.open(f"{kit}/node.xz") as source, open("/tmp/stipple-node/node", "wb") as target:
    shutil.copyfileobj(source, target)
with tarfile.open(f"{kit}/tree.tar.xz", "r:xz") as tree:
    tree.extractall(".")
PY
chmod +x /tmp/stipple-node/node
# compute-sanitizer and nvcc may sit in the toolkit's bin without being on PATH.
export PATH=/tmp/stipple-node:$PATH:/usr/local/cuda/bin STIPPLE_COMMIT="$(cat "$kit/commit" 2>/dev/null || echo unknown)"
echo "gpu-session at commit $STIPPLE_COMMIT, node $(node --version), unpacked in $(( $(date +%s) - began )) s"
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm --format=csv || echo "no nvidia-smi"
command -v nvcc >/dev/null && nvcc --version | tail -n 2
command -v compute-sanitizer >/dev/null || echo "no compute-sanitizer on PATH: the sanitize stage will run nothing"

stage() {
  local name=$1 limit=$2
  shift 2
  local start
  start=$(date +%s)
  echo "== $name (limit ${limit} s): $*"
  timeout --kill-after=15 "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  echo "== $name: exit $rc after $(( $(date +%s) - start )) s$([ "$rc" -eq 124 ] && echo ' (TIMED OUT: the log holds what it did)')"
  tail -n 40 "$out/$name.log"
}

STIPPLE_RUNS=${STIPPLE_RUNS:-8} stage test-gpu "${LIMIT_TEST:-150}" node scripts/test-gpu.mjs
stage bench-cuda "${LIMIT_BENCH:-160}" node dist/bench/run.js cuda
# Written part by part, so a stage stopped by its limit still leaves what it measured.
[ -f bench/results/cuda-gpu.json ] && cp bench/results/cuda-gpu.json "$out/"
PYTHONUNBUFFERED=1 stage compare-flex "${LIMIT_FLEX:-160}" python3 bench/gpu/compare_flex.py bench/gpu/kernels/manifest.json --lengths "${FLEX_LENGTHS:-8192,131072}" --reps 10 --out "$out/cuda-flex.json"
STIPPLE_RUNS=${STIPPLE_SANITIZE_RUNS:-1} stage sanitize "${LIMIT_SANITIZE:-80}" node scripts/test-gpu.mjs --sanitize
echo "gpu-session: done in $(( $(date +%s) - began )) s"
