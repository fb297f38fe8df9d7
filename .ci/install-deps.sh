#!/usr/bin/env bash
# Installs everything roofaudit builds, tests and runs with, from Debian 12 packages.
# Idempotent: packages already present are left alone, so a second run is quick.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libhwloc-dev hwloc libsqlite3-dev sqlite3
  libbenchmark-dev libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libopenblas-dev libdnnl-dev likwid
  libvulkan-dev glslc spirv-tools mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  chromium fonts-liberation
  libbenchmark-tools python3-numpy python3-scipy
  openmpi-bin libopenmpi-dev iproute2 util-linux
  clang libclang-rt-14-dev
)

# likwid is packaged for x86-64 only: elsewhere (AArch64) the tests that compare with
# likwid-bench skip, saying so.
if [ "$(dpkg --print-architecture)" != amd64 ]; then
  packages=("${packages[@]/likwid/}")
fi

missing=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
