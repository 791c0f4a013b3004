#!/usr/bin/env bash
# Regenerates the README's pictures (docs/pictures/): each static example's plan at 4k, and A-shape's mask at 1M.
set -euo pipefail
cd "$(dirname "$0")/.."
stipple() { node dist/cli/main.js "$@"; }
L="--q-len 4096 --kv-len 4096"
stipple plan examples/a_shape.stip --param sink=64 --param window=512 $L --format png --out docs/pictures/a_shape.png
stipple plan examples/tri_shape.stip --param sink=64 --param window=512 --param last=256 $L --format png --out docs/pictures/tri_shape.png
stipple plan examples/dilated.stip --param window=256 --param dilation=4 $L --format png --out docs/pictures/dilated.png
stipple plan examples/prefix_lm.stip --param prefix=1024 $L --format png --out docs/pictures/prefix_lm.png
stipple plan examples/grid.stip --param stride=256 --param window=128 $L --format png --out docs/pictures/grid.png
stipple plan examples/ladder.stip --param sink=16 --param window=256 --param group=64 --param keep=16 --layers 4 --layer 2 $L --format png --out docs/pictures/ladder.png
stipple mask examples/a_shape.stip --q-len 1048576 --kv-len 1048576 --format png --out docs/pictures/a_shape_1M_mask.png
