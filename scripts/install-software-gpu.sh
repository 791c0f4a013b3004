#!/usr/bin/env bash
# Installs the software WebGPU adapters the tests run on when there is no GPU:
#  - SwiftShader (Vulkan), shipped in Debian's chromium package as /usr/lib/chromium/vk_swiftshader_icd.json;
#    Stipple picks it automatically (backends/wgsl/device.ts). Chromium itself serves the browser tests.
#  - Mesa (llvmpipe through Dawn's OpenGL backend), the fallback adapter.
set -euo pipefail
need=()
[ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || need+=(chromium)
ldconfig -p | grep -q libvulkan.so.1 || need+=(libvulkan1)
ldconfig -p | grep -q libEGL_mesa || need+=(libegl1 libgles2 libegl-mesa0 mesa-vulkan-drivers)
if [ ${#need[@]} -eq 0 ]; then
  echo "software GPU adapters already installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
