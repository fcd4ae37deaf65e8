#!/usr/bin/env bash
# Builds the NEON codec kernel (+ scalar oracle + GF code) for aarch64 and runs it under qemu-user.
# Needs: g++-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user (scripts/install-system-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
aarch64-linux-gnu-g++ -O2 -std=c++17 -Wall -Wextra -I"$root/native" -o "$out/neon_driver" \
  "$root/test/native/neon_driver.cc" "$root/native/gf.cc" "$root/native/ec_scalar.cc" "$root/native/ec_neon.cc"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/neon_driver"
