#!/usr/bin/env bash
# Builds the NEON kernels (Reed-Solomon and BLAKE3) with their portable oracles for aarch64 and runs them
# under qemu-user. Needs: g++-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user (scripts/install-system-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cxx=(aarch64-linux-gnu-g++ -O2 -std=c++17 -Wall -Wextra -I"$root/native")
"${cxx[@]}" -o "$out/ec_neon" "$root/test/native/neon_driver.cc" "$root/native/ec/gf.cc" "$root/native/ec/ec_scalar.cc" \
  "$root/native/ec/ec_neon.cc"
"${cxx[@]}" -o "$out/blake3_neon" "$root/test/native/blake3_neon_driver.cc" "$root/native/blake3/blake3_portable.cc" \
  "$root/native/blake3/blake3_neon.cc"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/ec_neon"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/blake3_neon"
