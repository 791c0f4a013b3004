#!/usr/bin/env bash
# Installs what the CUDA tests need on a machine without a GPU (nvcc and ptxas come with the CUDA toolkit,
# which this project's machines have):
#  - NVRTC, for in-process CUDA → PTX through koffi: Debian's libnvrtc11.2 (CUDA 11.8) from the non-free
#    component, which this script enables (NVRTC is NVIDIA's redistributable runtime compiler);
#  - a C compiler, to build the stub libcuda the runtime tests load (test/fixtures/libcuda-stub.c), and a
#    C++ one, to run the generated CUDA tile-index builders on the host (test/cuda-host.ts).
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
need=()
ldconfig -p | grep -q 'libnvrtc\.so' || need+=(libnvrtc11.2)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -eq 0 ]; then
  echo "CUDA test tools already installed"
  exit 0
fi
if [[ " ${need[*]} " == *" libnvrtc11.2 "* ]] && ! grep -rqs 'non-free' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$codename" |
    $sudo tee /etc/apt/sources.list.d/stipple-non-free.sources >/dev/null
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
