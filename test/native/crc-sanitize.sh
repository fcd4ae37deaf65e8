#!/usr/bin/env bash
# Builds the CRC family (x86-64: with binding.gyp's per-file ISA flags; aarch64: with its extensions) and a
# driver with AddressSanitizer + UBSan, and runs every kernel the CPU has against the table kernel on inputs
# that end exactly at the end of their heap block (test/native/crc_sanitize_driver.cc). Needs g++ with libasan.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cxx=(g++ -O1 -g -std=c++17 -Wall -Wextra -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -I"$root/native")
objs=()
case "$(uname -m)" in
  x86_64)
    "${cxx[@]}" -msse4.2 -mpclmul -c -o "$out/p.o" "$root/native/crc/crc_pclmul.cc"
    "${cxx[@]}" -msse4.2 -mpclmul -mavx2 -mvpclmulqdq -c -o "$out/v256.o" "$root/native/crc/crc_vpclmul256.cc"
    "${cxx[@]}" -msse4.2 -mpclmul -mavx2 -mavx512f -mavx512bw -mavx512vl -mvpclmulqdq -Wno-maybe-uninitialized \
      -c -o "$out/v512.o" "$root/native/crc/crc_vpclmul512.cc"
    objs=("$out/p.o" "$out/v256.o" "$out/v512.o")
    ;;
  aarch64)
    "${cxx[@]}" -march=armv8-a+crc -c -o "$out/ac.o" "$root/native/crc/crc_armcrc.cc"
    "${cxx[@]}" -march=armv8-a+crc+crypto -c -o "$out/pm.o" "$root/native/crc/crc_pmull.cc"
    objs=("$out/ac.o" "$out/pm.o")
    ;;
esac
"${cxx[@]}" -o "$out/crc_sanitize" "$root/test/native/crc_sanitize_driver.cc" "$root/native/crc/crc_table.cc" \
  "$root/native/crc/crc_dispatch.cc" "$root/native/common/cpu_features.cc" "$root/native/common/kernel_select.cc" \
  "${objs[@]}"
SHARDVAULT_CRC_KERNEL= "$out/crc_sanitize"
