// AVX2 split-nibble kernel (ISA-L layout: 32 table bytes per coefficient, low- and high-nibble products,
// looked up with vpshufb). Up to 4 outputs per pass over the sources; tails under 32 bytes use the scalar
// reference.
#if defined(__x86_64__)
#include <immintrin.h>

#include "ec/ec_kernels.h"

namespace sv::ec {
namespace {

template <int R>
void Rows(const gf::CoefTables& t, int row0, const uint8_t* const* src, uint8_t* const* dst, size_t offset,
          size_t len) {
  const int k = t.k;
  const uint8_t* tables = &t.split[static_cast<size_t>(row0) * k * 32];
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const size_t end = offset + len;
  size_t c = offset;
  for (; c + 32 <= end; c += 32) {
    __m256i acc[R];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_si256();
    for (int j = 0; j < k; j++) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[j] + c));
      const __m256i lo = _mm256_and_si256(x, nibble);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi64(x, 4), nibble);
      for (int r = 0; r < R; r++) {
        const uint8_t* tb = tables + (static_cast<size_t>(r) * k + j) * 32;
        const __m256i tlo = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb)));
        const __m256i thi =
            _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb + 16)));
        acc[r] = _mm256_xor_si256(
            acc[r], _mm256_xor_si256(_mm256_shuffle_epi8(tlo, lo), _mm256_shuffle_epi8(thi, hi)));
      }
    }
    for (int r = 0; r < R; r++) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst[row0 + r] + c), acc[r]);
  }
  if (c < end) DotScalarRows(t, row0, R, src, dst, c, end - c);
}

}  // namespace

void DotAvx2(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len) {
  ForRowGroups<4>(t.rows, [&](auto r, int row0) { Rows<decltype(r)::value>(t, row0, src, dst, offset, len); });
}

}  // namespace sv::ec
#endif
