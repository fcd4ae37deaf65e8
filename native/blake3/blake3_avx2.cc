// BLAKE3 hash_many, AVX2 (8 lanes), hand-written with intrinsics (binding.gyp gives this file -mavx2).
// Lane i of every vector belongs to input i; each input is compressed block by block exactly as
// HashManyPortable does, so results are identical by construction (test/blake3-*.test.ts runs every forced
// kernel against the official vectors and @noble/hashes).
//
// Same shape as blake3_avx512.cc, for 16 ymm registers: the message block of the 8 inputs is loaded as two
// 8x8 word matrices and transposed in registers (vpunpck{l,h}dq, vpunpck{l,h}qdq, vperm2i128: 48 shuffles
// per 512 bytes) instead of the vector-extension template's lane-by-lane scalar loads; the rotations by 16
// and 8 are one vpshufb each, by 12 and 7 two shifts and an or; rounds fully unrolled. With 16 state vectors
// the register file is full, so GCC keeps a few state rows and the message words on the stack.
#if defined(__x86_64__)
#include <immintrin.h>

#include "blake3/blake3_impl.h"

namespace sv::blake3 {
namespace {

#define SV_ALWAYS_INLINE inline __attribute__((always_inline))

SV_ALWAYS_INLINE __m256i Add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
SV_ALWAYS_INLINE __m256i Xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
SV_ALWAYS_INLINE __m256i Rot16(__m256i x) {
  return _mm256_shuffle_epi8(x, _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12, 15, 14,
                                                9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}
SV_ALWAYS_INLINE __m256i Rot8(__m256i x) {
  return _mm256_shuffle_epi8(x, _mm256_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1, 12, 15, 14, 13,
                                                8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}
SV_ALWAYS_INLINE __m256i Rot12(__m256i x) { return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20)); }
SV_ALWAYS_INLINE __m256i Rot7(__m256i x) { return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25)); }

// Four G's side by side (a_i, b_i, c_i, d_i are state indices), interleaved step by step.
template <int A0, int B0, int C0, int D0, int A1, int B1, int C1, int D1, int A2, int B2, int C2, int D2, int A3,
          int B3, int C3, int D3>
SV_ALWAYS_INLINE void G4(__m256i v[16], __m256i x0, __m256i y0, __m256i x1, __m256i y1, __m256i x2, __m256i y2,
                         __m256i x3, __m256i y3) {
  v[A0] = Add(Add(v[A0], v[B0]), x0);
  v[A1] = Add(Add(v[A1], v[B1]), x1);
  v[A2] = Add(Add(v[A2], v[B2]), x2);
  v[A3] = Add(Add(v[A3], v[B3]), x3);
  v[D0] = Rot16(Xor(v[D0], v[A0]));
  v[D1] = Rot16(Xor(v[D1], v[A1]));
  v[D2] = Rot16(Xor(v[D2], v[A2]));
  v[D3] = Rot16(Xor(v[D3], v[A3]));
  v[C0] = Add(v[C0], v[D0]);
  v[C1] = Add(v[C1], v[D1]);
  v[C2] = Add(v[C2], v[D2]);
  v[C3] = Add(v[C3], v[D3]);
  v[B0] = Rot12(Xor(v[B0], v[C0]));
  v[B1] = Rot12(Xor(v[B1], v[C1]));
  v[B2] = Rot12(Xor(v[B2], v[C2]));
  v[B3] = Rot12(Xor(v[B3], v[C3]));
  v[A0] = Add(Add(v[A0], v[B0]), y0);
  v[A1] = Add(Add(v[A1], v[B1]), y1);
  v[A2] = Add(Add(v[A2], v[B2]), y2);
  v[A3] = Add(Add(v[A3], v[B3]), y3);
  v[D0] = Rot8(Xor(v[D0], v[A0]));
  v[D1] = Rot8(Xor(v[D1], v[A1]));
  v[D2] = Rot8(Xor(v[D2], v[A2]));
  v[D3] = Rot8(Xor(v[D3], v[A3]));
  v[C0] = Add(v[C0], v[D0]);
  v[C1] = Add(v[C1], v[D1]);
  v[C2] = Add(v[C2], v[D2]);
  v[C3] = Add(v[C3], v[D3]);
  v[B0] = Rot7(Xor(v[B0], v[C0]));
  v[B1] = Rot7(Xor(v[B1], v[C1]));
  v[B2] = Rot7(Xor(v[B2], v[C2]));
  v[B3] = Rot7(Xor(v[B3], v[C3]));
}

template <int R>
SV_ALWAYS_INLINE void Round(__m256i v[16], const __m256i* m) {
  constexpr const uint8_t* s = kMsgSchedule[R];
  G4<0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15>(v, m[s[0]], m[s[1]], m[s[2]], m[s[3]], m[s[4]], m[s[5]],
                                                           m[s[6]], m[s[7]]);
  G4<0, 5, 10, 15, 1, 6, 11, 12, 2, 7, 8, 13, 3, 4, 9, 14>(v, m[s[8]], m[s[9]], m[s[10]], m[s[11]], m[s[12]],
                                                           m[s[13]], m[s[14]], m[s[15]]);
}

// 8x8 transpose of 32-bit words: out[w] lane l = in[l] word w.
SV_ALWAYS_INLINE void Transpose8(const __m256i in[8], __m256i out[8]) {
  __m256i t[8];  // t[4g + j]: 128-bit lane q holds word 4q + j of rows 4g..4g+3
  for (int g = 0; g < 2; g++) {
    const __m256i* r = in + 4 * g;
    const __m256i a01 = _mm256_unpacklo_epi32(r[0], r[1]);
    const __m256i b01 = _mm256_unpackhi_epi32(r[0], r[1]);
    const __m256i a23 = _mm256_unpacklo_epi32(r[2], r[3]);
    const __m256i b23 = _mm256_unpackhi_epi32(r[2], r[3]);
    t[4 * g + 0] = _mm256_unpacklo_epi64(a01, a23);
    t[4 * g + 1] = _mm256_unpackhi_epi64(a01, a23);
    t[4 * g + 2] = _mm256_unpacklo_epi64(b01, b23);
    t[4 * g + 3] = _mm256_unpackhi_epi64(b01, b23);
  }
  for (int j = 0; j < 4; j++) {
    out[j] = _mm256_permute2x128_si256(t[j], t[4 + j], 0x20);      // words j of rows 0-3 | rows 4-7
    out[4 + j] = _mm256_permute2x128_si256(t[j], t[4 + j], 0x31);  // words 4 + j
  }
}

// Hashes exactly 8 inputs of `blocks` blocks each.
void HashMany8(const uint8_t* const* inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
               bool incrementCounter, uint8_t flags, uint8_t flagsStart, uint8_t flagsEnd, uint8_t* out) {
  __m256i cv[8];
  for (int w = 0; w < 8; w++) cv[w] = _mm256_set1_epi32(static_cast<int>(key[w]));
  const __m256i lo0 = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(counter)));
  const __m256i hi0 = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(counter >> 32)));
  __m256i counterLo = lo0, counterHi = hi0;
  if (incrementCounter) {
    // lo + lane; the low word wrapped where it became (unsigned) smaller: compare with the sign bit flipped.
    counterLo = _mm256_add_epi32(lo0, _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
    const __m256i sign = _mm256_set1_epi32(INT32_MIN);
    const __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(lo0, sign), _mm256_xor_si256(counterLo, sign));
    counterHi = _mm256_sub_epi32(hi0, wrapped);  // wrapped lanes are -1
  }
  alignas(32) __m256i m[16];
  for (size_t b = 0; b < blocks; b++) {
    const size_t offset = b * kBlockBytes;
    __m256i rows[8];
    for (int l = 0; l < 8; l++) rows[l] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(inputs[l] + offset));
    Transpose8(rows, m);
    for (int l = 0; l < 8; l++) {
      rows[l] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(inputs[l] + offset + 32));
    }
    Transpose8(rows, m + 8);
    if (b + 1 < blocks) {
      for (int l = 0; l < 8; l++) _mm_prefetch(reinterpret_cast<const char*>(inputs[l] + offset + kBlockBytes), _MM_HINT_T0);
    }
    uint32_t f = flags;
    if (b == 0) f |= flagsStart;
    if (b + 1 == blocks) f |= flagsEnd;
    __m256i v[16];
    for (int w = 0; w < 8; w++) v[w] = cv[w];
    v[8] = _mm256_set1_epi32(static_cast<int>(kIv[0]));
    v[9] = _mm256_set1_epi32(static_cast<int>(kIv[1]));
    v[10] = _mm256_set1_epi32(static_cast<int>(kIv[2]));
    v[11] = _mm256_set1_epi32(static_cast<int>(kIv[3]));
    v[12] = counterLo;
    v[13] = counterHi;
    v[14] = _mm256_set1_epi32(static_cast<int>(kBlockBytes));
    v[15] = _mm256_set1_epi32(static_cast<int>(f));
    Round<0>(v, m);
    Round<1>(v, m);
    Round<2>(v, m);
    Round<3>(v, m);
    Round<4>(v, m);
    Round<5>(v, m);
    Round<6>(v, m);
    for (int w = 0; w < 8; w++) cv[w] = Xor(v[w], v[w + 8]);
  }
  __m256i rows[8];
  Transpose8(cv, rows);  // rows[l] = the 8 CV words of input l
  for (int l = 0; l < 8; l++) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + l * kOutBytes), rows[l]);
}

}  // namespace

void HashManyAvx2(const uint8_t* const* inputs, size_t count, size_t blocks, const uint32_t* key, uint64_t counter,
                  bool incrementCounter, uint8_t flags, uint8_t flagsStart, uint8_t flagsEnd, uint8_t* out) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    HashMany8(inputs + i, blocks, key, counter + (incrementCounter ? i : 0), incrementCounter, flags, flagsStart,
              flagsEnd, out + i * kOutBytes);
  }
  const size_t rest = count - i;
  if (rest >= 2) {
    // One padded pass: spare lanes repeat the last input, their outputs are discarded (one 8-lane pass costs
    // far less than `rest` single compressions).
    const uint8_t* padded[8];
    for (size_t l = 0; l < 8; l++) padded[l] = inputs[i + (l < rest ? l : rest - 1)];
    alignas(32) uint8_t tmp[8 * kOutBytes];
    HashMany8(padded, blocks, key, counter + (incrementCounter ? i : 0), incrementCounter, flags, flagsStart,
              flagsEnd, tmp);
    std::memcpy(out + i * kOutBytes, tmp, rest * kOutBytes);
  } else if (rest == 1) {
    HashManyPortable(inputs + i, 1, blocks, key, counter + (incrementCounter ? i : 0), incrementCounter, flags,
                     flagsStart, flagsEnd, out + i * kOutBytes);
  }
}

}  // namespace sv::blake3
#endif
