// AVX2 split-nibble kernel (ISA-L layout: 32 table bytes per coefficient, low- and high-nibble products,
// looked up with vpshufb). Up to 4 outputs per pass over the sources, and two 32-byte columns per step: each
// coefficient's table pair is loaded (broadcast from memory, a load-port uop only) once and used for both
// columns, so table traffic per byte halves. With 4 outputs that is 8 accumulators + 4 nibble vectors +
// 2 tables = 14 of the 16 ymm registers. Measured against one column per step (bench/RESULTS.md, issue 15):
// 1.1-1.2x at 10+4 and 4+2. The last 32..63 bytes run one column, tails under 32 bytes the scalar reference.
#if defined(__x86_64__)
#include <immintrin.h>

#include "ec/ec_kernels.h"

namespace sv::ec {
namespace {

// Computes R output rows for V consecutive 32-byte columns starting at byte c.
template <int R, int V>
inline void Columns(const uint8_t* tables, int k, const uint8_t* const* src, uint8_t* const* dst, size_t c) {
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  __m256i acc[R][V];
  for (int r = 0; r < R; r++) {
    for (int v = 0; v < V; v++) acc[r][v] = _mm256_setzero_si256();
  }
  for (int j = 0; j < k; j++) {
    __m256i lo[V], hi[V];
    for (int v = 0; v < V; v++) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[j] + c + 32 * v));
      lo[v] = _mm256_and_si256(x, nibble);
      hi[v] = _mm256_and_si256(_mm256_srli_epi64(x, 4), nibble);
    }
    for (int r = 0; r < R; r++) {
      const uint8_t* tb = tables + (static_cast<size_t>(r) * k + j) * 32;
      const __m256i tlo = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb)));
      const __m256i thi = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb + 16)));
      for (int v = 0; v < V; v++) {
        acc[r][v] = _mm256_xor_si256(
            acc[r][v], _mm256_xor_si256(_mm256_shuffle_epi8(tlo, lo[v]), _mm256_shuffle_epi8(thi, hi[v])));
      }
    }
  }
  for (int r = 0; r < R; r++) {
    for (int v = 0; v < V; v++) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst[r] + c + 32 * v), acc[r][v]);
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
  for (; c + 64 <= end; c += 64) Columns<R, 2>(tables, k, src, out, c);
  if (c + 32 <= end) {
    Columns<R, 1>(tables, k, src, out, c);
    c += 32;
  }
  if (c < end) DotScalarRows(t, row0, R, src, dst, c, end - c);
}

}  // namespace

void DotAvx2(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len) {
  ForRowGroups<4>(t.rows, [&](auto r, int row0) { Rows<decltype(r)::value>(t, row0, src, dst, offset, len); });
}

}  // namespace sv::ec
#endif
