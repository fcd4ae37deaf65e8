// AVX-512BW split-nibble kernel: ISA-L's table layout on 512-bit vectors (vpshufb per 128-bit lane, tables
// broadcast to all four lanes), up to 6 outputs per pass, vpternlogq for the three-way XOR, masked tails.
#if defined(__x86_64__)
#include <immintrin.h>

#include "ec/ec_kernels.h"

namespace sv::ec {
namespace {

template <int R>
inline void Accumulate(const uint8_t* tables, int k, int j, __m512i x, __m512i nibble, __m512i* acc) {
  const __m512i lo = _mm512_and_si512(x, nibble);
  const __m512i hi = _mm512_and_si512(_mm512_srli_epi64(x, 4), nibble);
  for (int r = 0; r < R; r++) {
    const uint8_t* tb = tables + (static_cast<size_t>(r) * k + j) * 32;
    const __m512i tlo = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb)));
    const __m512i thi = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb + 16)));
    acc[r] = _mm512_ternarylogic_epi64(acc[r], _mm512_shuffle_epi8(tlo, lo), _mm512_shuffle_epi8(thi, hi), 0x96);
  }
}

template <int R>
void Rows(const gf::CoefTables& t, int row0, const uint8_t* const* src, uint8_t* const* dst, size_t offset,
          size_t len) {
  const int k = t.k;
  const uint8_t* tables = &t.split[static_cast<size_t>(row0) * k * 32];
  const __m512i nibble = _mm512_set1_epi8(0x0f);
  const size_t end = offset + len;
  size_t c = offset;
  for (; c + 64 <= end; c += 64) {
    __m512i acc[R];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_si512();
    for (int j = 0; j < k; j++) Accumulate<R>(tables, k, j, _mm512_loadu_si512(src[j] + c), nibble, acc);
    for (int r = 0; r < R; r++) _mm512_storeu_si512(dst[row0 + r] + c, acc[r]);
  }
  if (c < end) {
    const __mmask64 mask = _cvtu64_mask64(~0ull >> (64 - (end - c)));
    __m512i acc[R];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_si512();
    for (int j = 0; j < k; j++) Accumulate<R>(tables, k, j, _mm512_maskz_loadu_epi8(mask, src[j] + c), nibble, acc);
    for (int r = 0; r < R; r++) _mm512_mask_storeu_epi8(dst[row0 + r] + c, mask, acc[r]);
  }
}

}  // namespace

void DotAvx512(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len) {
  ForRowGroups<6>(t.rows, [&](auto r, int row0) { Rows<decltype(r)::value>(t, row0, src, dst, offset, len); });
}

}  // namespace sv::ec
#endif
