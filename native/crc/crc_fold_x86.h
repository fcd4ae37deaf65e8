// 128-bit PCLMULQDQ folding, included by crc_pclmul.cc, crc_vpclmul256.cc and crc_vpclmul512.cc. Everything
// here has internal linkage on purpose: each includer compiles it with its own ISA flags, and a shared inline
// definition would let the linker keep the AVX-512 copy for the SSE kernel (an ODR trap that crashes older CPUs).
#pragma once

#include <immintrin.h>

#include "crc/crc_impl.h"

namespace sv::crc {
namespace {

// {x^(D+63), x^(D-1)} mod P for D = 128 * j.
inline __m128i K128(const FoldConstants& c, int j) {
  return _mm_set_epi64x(static_cast<long long>(c.k[j][1]), static_cast<long long>(c.k[j][0]));
}

// Moves lane x forward by the constant's distance.
inline __m128i Fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

inline __m128i Load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// Folds data[0, len) (len >= 16) into one lane with the register absorbed into the first: eight lanes at a
// time while 128 bytes remain, then one. *used = the bytes consumed (a multiple of 16; < 16 remain).
inline __m128i FoldAll128(uint64_t reg, const uint8_t* p, size_t len, const FoldConstants& c, size_t* used) {
  const uint8_t* const start = p;
  __m128i x;
  if (len >= 128) {
    __m128i v[8];
    for (int i = 0; i < 8; i++) v[i] = Load128(p + 16 * i);
    v[0] = _mm_xor_si128(v[0], _mm_cvtsi64_si128(static_cast<long long>(reg)));
    p += 128;
    len -= 128;
    const __m128i k8 = K128(c, 8);
    while (len >= 128) {
      for (int i = 0; i < 8; i++) v[i] = _mm_xor_si128(Fold(v[i], k8), Load128(p + 16 * i));
      p += 128;
      len -= 128;
    }
    x = v[7];
    for (int i = 0; i < 7; i++) x = _mm_xor_si128(x, Fold(v[i], K128(c, 7 - i)));
  } else {
    x = _mm_xor_si128(Load128(p), _mm_cvtsi64_si128(static_cast<long long>(reg)));
    p += 16;
    len -= 16;
  }
  const __m128i k1 = K128(c, 1);
  while (len >= 16) {
    x = _mm_xor_si128(Fold(x, k1), Load128(p));
    p += 16;
    len -= 16;
  }
  *used = static_cast<size_t>(p - start);
  return x;
}

// The register after the folded lane x, computed by `tail` (any CRC update from register 0 over 16 bytes).
inline uint64_t FinishWith(UpdateFn tail, __m128i x) {
  alignas(16) uint8_t b[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(b), x);
  return tail(0, b, 16);
}

// The generic folding kernel: tables below 16 bytes and for the last < 16.
inline uint64_t FoldUpdate(uint64_t reg, const uint8_t* p, size_t len, Algo a, UpdateFn tail) {
  if (len < 16) return tail(reg, p, len);
  size_t used;
  const __m128i x = FoldAll128(reg, p, len, Constants(a), &used);
  return tail(FinishWith(tail, x), p + used, len - used);
}

}  // namespace
}  // namespace sv::crc
