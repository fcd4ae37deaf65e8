// Reed-Solomon dot-product kernels, one family per ISA, one file each (own compiler flags, binding.gyp).
// Every kernel computes, for each output row r of `t` and each byte column c in [offset, offset + len):
//   dst[r][c] = XOR over j < t.k of  t.coef[r][j] * src[j][c]      (GF(2^8), poly 0x11D)
// overwriting dst. Outputs never alias inputs (the binding checks). Kernels read and write exactly the bytes
// [offset, offset + len) of each buffer: any length, any alignment. Several outputs are accumulated per pass
// over the sources; the caller (ec_codec.cc) blocks columns so a chunk's working set stays in cache.
// Every kernel must be byte-identical to DotScalar, the oracle (test/codec-kernels.test.ts, test/native/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ec/gf.h"

namespace sv::ec {

enum class Kernel : int { kScalar = 0, kAvx2, kAvx512, kGfni256, kGfni512, kNeon, kCount };

using DotFn = void (*)(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset,
                       size_t len);

void DotScalar(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len);
#if defined(__x86_64__)
void DotAvx2(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len);
void DotAvx512(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len);
void DotGfni256(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len);
void DotGfni512(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len);
#endif
#if defined(__aarch64__)
void DotNeon(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len);
#endif

// Scalar treatment of one row range, used by SIMD kernels for tails shorter than a vector.
void DotScalarRows(const gf::CoefTables& t, int row0, int rowCount, const uint8_t* const* src, uint8_t* const* dst,
                   size_t offset, size_t len);

// Runs rows(std::integral_constant<int, R>, row0) over t.rows output rows in groups of RMax (kept in
// registers), then once for the remaining 1..RMax-1 rows, each with a compile-time R.
template <int R, typename F>
inline void RemainderGroup(int rem, int row0, F& rows) {
  if constexpr (R >= 1) {
    if (rem == R) {
      rows(std::integral_constant<int, R>{}, row0);
    } else {
      RemainderGroup<R - 1>(rem, row0, rows);
    }
  }
}

template <int RMax, typename F>
inline void ForRowGroups(int rowCount, F&& rows) {
  int row0 = 0;
  for (; row0 + RMax <= rowCount; row0 += RMax) rows(std::integral_constant<int, RMax>{}, row0);
  RemainderGroup<RMax - 1>(rowCount - row0, row0, rows);
}

}  // namespace sv::ec
