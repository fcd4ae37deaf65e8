// GFNI kernel, 256-bit VEX form, for CPUs with GFNI and AVX2 but no (or slow) AVX-512. Up to 4 outputs per
// pass (16 ymm registers). Tails shorter than 32 bytes use the scalar reference.
#if defined(__x86_64__)
#include <immintrin.h>

#include "ec/ec_kernels.h"

namespace sv::ec {
namespace {

template <int R>
void Rows(const gf::CoefTables& t, int row0, const uint8_t* const* src, uint8_t* const* dst, size_t offset,
          size_t len) {
  const int k = t.k;
  const uint64_t* mat = &t.gfni[static_cast<size_t>(row0) * k];
  const size_t end = offset + len;
  size_t c = offset;
  // Two vectors per pass: each broadcast coefficient matrix feeds two affine ops.
  for (; c + 64 <= end; c += 64) {
    __m256i acc0[R], acc1[R];
    for (int r = 0; r < R; r++) acc0[r] = acc1[r] = _mm256_setzero_si256();
    for (int j = 0; j < k; j++) {
      const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[j] + c));
      const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[j] + c + 32));
      for (int r = 0; r < R; r++) {
        const __m256i a = _mm256_set1_epi64x(static_cast<long long>(mat[static_cast<size_t>(r) * k + j]));
        acc0[r] = _mm256_xor_si256(acc0[r], _mm256_gf2p8affine_epi64_epi8(x0, a, 0));
        acc1[r] = _mm256_xor_si256(acc1[r], _mm256_gf2p8affine_epi64_epi8(x1, a, 0));
      }
    }
    for (int r = 0; r < R; r++) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst[row0 + r] + c), acc0[r]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst[row0 + r] + c + 32), acc1[r]);
    }
  }
  for (; c + 32 <= end; c += 32) {
    __m256i acc[R];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_si256();
    for (int j = 0; j < k; j++) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[j] + c));
      for (int r = 0; r < R; r++) {
        const __m256i a = _mm256_set1_epi64x(static_cast<long long>(mat[static_cast<size_t>(r) * k + j]));
        acc[r] = _mm256_xor_si256(acc[r], _mm256_gf2p8affine_epi64_epi8(x, a, 0));
      }
    }
    for (int r = 0; r < R; r++) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst[row0 + r] + c), acc[r]);
  }
  if (c < end) DotScalarRows(t, row0, R, src, dst, c, end - c);
}

}  // namespace

void DotGfni256(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len) {
  ForRowGroups<4>(t.rows, [&](auto r, int row0) { Rows<decltype(r)::value>(t, row0, src, dst, offset, len); });
}

}  // namespace sv::ec
#endif
