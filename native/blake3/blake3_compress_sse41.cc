// BLAKE3 single-block compression, SSE4.1, one row of the 4x4 state per register (spec section 2.2: the
// column step, then the diagonal step with rows b, c, d rotated by 1, 2, 3 lanes). Used by the sse41 and
// avx2 kernels for everything that is not a whole group of chunks or parents: the chunk a Hasher is filling,
// the last chunk, the parents it closes one at a time and the root. One block is a serial chain of 7 rounds
// x 2 G steps, so this is latency-bound like the scalar code and gains little: 83 ns against 90 ns per
// block for the portable compression (chained-block microbenchmark, this machine).
// Identical output to CompressState by construction; test/blake3-*.test.ts checks every forced kernel.
#if defined(__x86_64__)
#include <immintrin.h>

#include "blake3/blake3_impl.h"

namespace sv::blake3 {
namespace {

inline __m128i Rotr16(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}
inline __m128i Rotr8(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}
inline __m128i Rotr12(__m128i x) { return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20)); }
inline __m128i Rotr7(__m128i x) { return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25)); }

inline void G4(__m128i& a, __m128i& b, __m128i& c, __m128i& d, __m128i mx, __m128i my) {
  a = _mm_add_epi32(_mm_add_epi32(a, mx), b);
  d = Rotr16(_mm_xor_si128(d, a));
  c = _mm_add_epi32(c, d);
  b = Rotr12(_mm_xor_si128(b, c));
  a = _mm_add_epi32(_mm_add_epi32(a, my), b);
  d = Rotr8(_mm_xor_si128(d, a));
  c = _mm_add_epi32(c, d);
  b = Rotr7(_mm_xor_si128(b, c));
}

// Message words of four G's, lane i = m[s[first + 2i]].
inline __m128i Words(const uint32_t* m, const uint8_t* s, int first) {
  return _mm_set_epi32(static_cast<int>(m[s[first + 6]]), static_cast<int>(m[s[first + 4]]),
                       static_cast<int>(m[s[first + 2]]), static_cast<int>(m[s[first]]));
}

}  // namespace

void CompressCvSse41(const uint32_t cv[8], const uint8_t block[kBlockBytes], uint8_t blockLen, uint64_t counter,
                     uint8_t flags, uint32_t out[8]) {
  uint32_t m[16];
  std::memcpy(m, block, sizeof m);  // x86 is little-endian: words as the spec reads them
  __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv));
  __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv + 4));
  __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIv));
  __m128i d = _mm_set_epi32(flags, blockLen, static_cast<int>(static_cast<uint32_t>(counter >> 32)),
                            static_cast<int>(static_cast<uint32_t>(counter)));
#pragma GCC unroll 7
  for (int r = 0; r < 7; r++) {
    const uint8_t* s = kMsgSchedule[r];
    G4(a, b, c, d, Words(m, s, 0), Words(m, s, 1));
    b = _mm_shuffle_epi32(b, _MM_SHUFFLE(0, 3, 2, 1));  // lane i <- b[i + 1]
    c = _mm_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));  // lane i <- c[i + 2]
    d = _mm_shuffle_epi32(d, _MM_SHUFFLE(2, 1, 0, 3));  // lane i <- d[i + 3]
    G4(a, b, c, d, Words(m, s, 8), Words(m, s, 9));
    b = _mm_shuffle_epi32(b, _MM_SHUFFLE(2, 1, 0, 3));
    c = _mm_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));
    d = _mm_shuffle_epi32(d, _MM_SHUFFLE(0, 3, 2, 1));
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 4), _mm_xor_si128(b, d));
}

}  // namespace sv::blake3
#endif
