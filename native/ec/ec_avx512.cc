// AVX-512BW split-nibble kernel: ISA-L's table layout on 512-bit vectors (vpshufb per 128-bit lane, tables
// broadcast to all four lanes), vpternlogq for the three-way XOR, masked tails. Up to 4 outputs per pass and two
// 64-byte columns per step, so each table pair is broadcast once for 128 bytes: measured against 6 outputs x one
// column (bench/RESULTS.md, issue 15), this is what moved the kernel ahead of ec_encode_data_avx512.
#if defined(__x86_64__)
#include <immintrin.h>

#include "ec/ec_kernels.h"

namespace sv::ec {
namespace {

// R output rows for V consecutive 64-byte columns from byte c; with `mask`, one column of fewer than 64 bytes.
template <int R, int V, bool Masked>
inline void Columns(const uint8_t* tables, int k, const uint8_t* const* src, uint8_t* const* dst, size_t c,
                    __mmask64 mask) {
  const __m512i nibble = _mm512_set1_epi8(0x0f);
  __m512i acc[R][V];
  for (int r = 0; r < R; r++) {
    for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_si512();
  }
  for (int j = 0; j < k; j++) {
    __m512i lo[V], hi[V];
    for (int v = 0; v < V; v++) {
      const __m512i x = Masked ? _mm512_maskz_loadu_epi8(mask, src[j] + c) : _mm512_loadu_si512(src[j] + c + 64 * v);
      lo[v] = _mm512_and_si512(x, nibble);
      hi[v] = _mm512_and_si512(_mm512_srli_epi64(x, 4), nibble);
    }
    for (int r = 0; r < R; r++) {
      const uint8_t* tb = tables + (static_cast<size_t>(r) * k + j) * 32;
      const __m512i tlo = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb)));
      const __m512i thi = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb + 16)));
      for (int v = 0; v < V; v++) {
        acc[r][v] = _mm512_ternarylogic_epi64(acc[r][v], _mm512_shuffle_epi8(tlo, lo[v]),
                                              _mm512_shuffle_epi8(thi, hi[v]), 0x96);
      }
    }
  }
  for (int r = 0; r < R; r++) {
    for (int v = 0; v < V; v++) {
      if (Masked) {
        _mm512_mask_storeu_epi8(dst[r] + c, mask, acc[r][v]);
      } else {
        _mm512_storeu_si512(dst[r] + c + 64 * v, acc[r][v]);
      }
    }
  }
}

template <int R>
void Rows(const gf::CoefTables& t, int row0, const uint8_t* const* src, uint8_t* const* dst, size_t offset,
          size_t len) {
  const int k = t.k;
  const uint8_t* tables = &t.split[static_cast<size_t>(row0) * k * 32];
  uint8_t* const* out = dst + row0;
  const size_t end = offset + len;
  size_t c = offset;
  for (; c + 128 <= end; c += 128) Columns<R, 2, false>(tables, k, src, out, c, 0);
  if (c + 64 <= end) {
    Columns<R, 1, false>(tables, k, src, out, c, 0);
    c += 64;
  }
  if (c < end) Columns<R, 1, true>(tables, k, src, out, c, _cvtu64_mask64(~0ull >> (64 - (end - c))));
}

}  // namespace

void DotAvx512(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len) {
  ForRowGroups<4>(t.rows, [&](auto r, int row0) { Rows<decltype(r)::value>(t, row0, src, dst, offset, len); });
}

}  // namespace sv::ec
#endif
