#!/usr/bin/env bash
# Builds the aarch64 CRC kernels (armcrc: the ARMv8 CRC extension; pmull: PMULL folding) with their table oracle
# and the dispatcher for aarch64 and runs them under qemu-user. Needs: g++-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cxx=(aarch64-linux-gnu-g++ -O2 -std=c++17 -Wall -Wextra -I"$root/native")
# Only the kernel files get the extensions, each its own, as in binding.gyp.
"${cxx[@]}" -march=armv8-a+crc -c -o "$out/crc_armcrc.o" "$root/native/crc/crc_armcrc.cc"
"${cxx[@]}" -march=armv8-a+crc+crypto -c -o "$out/crc_pmull.o" "$root/native/crc/crc_pmull.cc"
"${cxx[@]}" -o "$out/crc_armv8" "$root/test/native/crc_armv8_driver.cc" "$root/native/crc/crc_table.cc" \
  "$root/native/crc/crc_dispatch.cc" "$root/native/common/cpu_features.cc" "$root/native/common/kernel_select.cc" \
  "$out/crc_armcrc.o" "$out/crc_pmull.o"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/crc_armv8"
