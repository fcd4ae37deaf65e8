// Internals shared by the CRC kernel files. A kernel function updates the raw register (the value before
// the final xorout: the finished CRC inverted) over data; crc_dispatch.cc does the inversions.
//
// Folding (all SIMD kernels): the input is read as 128-bit lanes in the reflected bit order (bit 0 of byte 0
// is the highest-degree coefficient). A lane X = H*x^64 + L (H the low, L the high quadword) that must move
// D bits forward becomes clmul(H, x^(D+63) mod P) ^ clmul(L, x^(D-1) mod P): the -1 in both exponents pays
// for the one-bit shift of a carry-less product of two reflected operands. Constants() (crc_table.cc) derives
// those remainders from the polynomial at start-up, so no kernel carries hand-copied magic numbers. After folding,
// the last lane is an ordinary 16-byte message with the initial register already absorbed: its CRC from a
// zero register (table or crc32 instruction) is the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "crc/crc.h"

namespace sv::crc {

using UpdateFn = uint64_t (*)(uint64_t reg, const uint8_t* data, size_t len);

struct KernelFns {
  UpdateFn crc32;
  UpdateFn crc32c;
  UpdateFn crc64;
};

// Fold-by-D constants for D = 128 * j bits, j = 1..kFoldMax: k[j][0] = x^(D+63) mod P, k[j][1] = x^(D-1) mod P,
// each stored reflected in 64 bits (the coefficient of x^i in bit 63 - i). shift32[i]: x^(8*kShiftBytes[i]-33)
// mod P reflected in 32 bits, for moving a CRC32C register forward kShiftBytes[i] bytes with one clmul and one
// crc32 instruction (the SSE4.2 3-stream kernel).
inline constexpr int kFoldMax = 16;
inline constexpr size_t kShiftBytes[2] = {256, 4096};
struct FoldConstants {
  uint64_t k[kFoldMax + 1][2];
  uint64_t shift32[2];
};
const FoldConstants& Constants(Algo a);

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

inline void Store64(uint8_t* p, uint64_t v) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  std::memcpy(p, &v, 8);
}

// Slicing-by-8 (any length, any alignment).
uint64_t TableCrc32(uint64_t reg, const uint8_t* data, size_t len);
uint64_t TableCrc32c(uint64_t reg, const uint8_t* data, size_t len);
uint64_t TableCrc64(uint64_t reg, const uint8_t* data, size_t len);

#if defined(__x86_64__)
KernelFns PclmulKernel();
KernelFns Sse42Kernel();
KernelFns Vpclmul256Kernel();
KernelFns Vpclmul512Kernel();
#endif
#if defined(__aarch64__)
KernelFns ArmCrcKernel();
KernelFns PmullKernel();
#endif

}  // namespace sv::crc
