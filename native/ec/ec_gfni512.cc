// GFNI kernel, 512-bit EVEX form: one vgf2p8affineqb (an 8x8 bit matrix per coefficient, any polynomial)
// plus one XOR per term makes GF math nearly free; research measured ~62 GB/s for 10+4 at 64 KiB shards,
// 2.1x ISA-L 2.30's AVX-512 path (perf-anchors.md 1.1). Up to 8 outputs per pass (32 zmm registers);
// masked loads/stores handle any tail, so no scalar fallback is needed.
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
  // Two vectors per pass: each broadcast coefficient matrix feeds two affine ops, halving matrix loads
  // (measured 18.8 -> see bench/RESULTS.md for 10+4 at 64 KiB).
  for (; c + 128 <= end; c += 128) {
    __m512i acc0[R], acc1[R];
    for (int r = 0; r < R; r++) acc0[r] = acc1[r] = _mm512_setzero_si512();
    for (int j = 0; j < k; j++) {
      const __m512i x0 = _mm512_loadu_si512(src[j] + c);
      const __m512i x1 = _mm512_loadu_si512(src[j] + c + 64);
      for (int r = 0; r < R; r++) {
        const __m512i a = _mm512_set1_epi64(static_cast<long long>(mat[static_cast<size_t>(r) * k + j]));
        acc0[r] = _mm512_xor_si512(acc0[r], _mm512_gf2p8affine_epi64_epi8(x0, a, 0));
        acc1[r] = _mm512_xor_si512(acc1[r], _mm512_gf2p8affine_epi64_epi8(x1, a, 0));
      }
    }
    for (int r = 0; r < R; r++) {
      _mm512_storeu_si512(dst[row0 + r] + c, acc0[r]);
      _mm512_storeu_si512(dst[row0 + r] + c + 64, acc1[r]);
    }
  }
  for (; c + 64 <= end; c += 64) {
    __m512i acc[R];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_si512();
    for (int j = 0; j < k; j++) {
      const __m512i x = _mm512_loadu_si512(src[j] + c);
      for (int r = 0; r < R; r++) {
        const __m512i a = _mm512_set1_epi64(static_cast<long long>(mat[static_cast<size_t>(r) * k + j]));
        acc[r] = _mm512_xor_si512(acc[r], _mm512_gf2p8affine_epi64_epi8(x, a, 0));
      }
    }
    for (int r = 0; r < R; r++) _mm512_storeu_si512(dst[row0 + r] + c, acc[r]);
  }
  if (c < end) {
    const __mmask64 mask = _cvtu64_mask64(~0ull >> (64 - (end - c)));
    __m512i acc[R];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_si512();
    for (int j = 0; j < k; j++) {
      const __m512i x = _mm512_maskz_loadu_epi8(mask, src[j] + c);
      for (int r = 0; r < R; r++) {
        const __m512i a = _mm512_set1_epi64(static_cast<long long>(mat[static_cast<size_t>(r) * k + j]));
        acc[r] = _mm512_xor_si512(acc[r], _mm512_gf2p8affine_epi64_epi8(x, a, 0));
      }
    }
    for (int r = 0; r < R; r++) _mm512_mask_storeu_epi8(dst[row0 + r] + c, mask, acc[r]);
  }
}

}  // namespace

void DotGfni512(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len) {
  ForRowGroups<8>(t.rows, [&](auto r, int row0) { Rows<decltype(r)::value>(t, row0, src, dst, offset, len); });
}

}  // namespace sv::ec
#endif
