#!/usr/bin/env bash
# What the AArch64 cross-build (preset arm64) and its emulated tests need on a Debian 12
# x86-64 host: the cross compiler, qemu-user, and the arm64 builds of roofaudit's
# libraries through multiarch. Idempotent.
#
# Debian's libdnnl-dev cannot be installed beside the host's (both ship a different
# /usr/include/oneapi/dnnl/dnnl_config.h), so its arm64 build is unpacked into
# build/arm64-extra, where cmake/toolchains/aarch64-linux-gnu.cmake looks first; the
# runtime library (libdnnl2:arm64) installs normally.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(
  g++-aarch64-linux-gnu qemu-user-static binfmt-support
  libsqlite3-dev:arm64 libfmt-dev:arm64 libhwloc-dev:arm64 libbenchmark-dev:arm64
  libgtest-dev:arm64 libgmock-dev:arm64 libopenblas-dev:arm64 libvulkan-dev:arm64 libdnnl2:arm64
)

if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then "${as_root[@]}" dpkg --add-architecture arm64; fi
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

extra="$root/build/arm64-extra"
if [ ! -f "$extra/usr/include/oneapi/dnnl/dnnl_config.h" ]; then
  tmp="$(mktemp -d)"
  chmod 777 "$tmp"  # apt downloads as its own user
  (cd "$tmp" && apt-get download libdnnl-dev:arm64 > /dev/null)
  mkdir -p "$extra"
  dpkg-deb -x "$tmp"/libdnnl-dev_*_arm64.deb "$extra"
  rm -rf "$tmp"
  # The development symlink points beside itself; the library is the multiarch one.
  ln -sf /usr/lib/aarch64-linux-gnu/libdnnl.so.2 "$extra/usr/lib/aarch64-linux-gnu/libdnnl.so"
fi

# Tests start the roofaudit binary as a child process: the kernel runs it through qemu
# when binfmt_misc knows AArch64 executables.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  "${as_root[@]}" mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
fi
"${as_root[@]}" update-binfmts --enable qemu-aarch64 2>/dev/null || true
