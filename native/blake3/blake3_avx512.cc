// BLAKE3 hash_many, AVX-512 (16 lanes), hand-written with intrinsics (binding.gyp gives this file
// -mavx512f/bw/vl). Lane i of every vector belongs to input i; each input is compressed block by block
// exactly as HashManyPortable does, so results are identical by construction (test/blake3-*.test.ts runs
// every forced kernel against the official vectors and @noble/hashes).
//
// Why not the shared vector-extension template (blake3_simd.h) any more: compiled for 16 lanes it keeps the
// 16 message vectors in registers next to the 16 state vectors and spills state inside the rounds, and GCC
// builds its lane-by-lane message load out of ~380 scalar moves per block (objdump of the old object). That
// kernel ran 3.0-3.2 GB/s at 1 MiB against b3sum's ~4.1 (bench/RESULTS.md). Here:
//   - the message block of all 16 inputs is loaded as 16 rows and transposed in registers
//     (vpunpck{l,h}dq, vpunpck{l,h}qdq, then two vshufi32x4 passes: 64 shuffles per 1 KiB of input),
//   - the transposed words go to an aligned stack block behind a compiler barrier and the rounds reload
//     them from there; the object has ~80 zmm stack accesses per block (the template's had ~290 stack
//     accesses, most of them scalar moves),
//   - rotations are vprord, the 7 rounds are fully unrolled with a constant schedule,
//   - the next block of every input is prefetched while the current one is compressed.
// Inputs of fewer than 16 lanes: 9..15 run as one padded 16-lane pass, 2..8 go to the 8-lane AVX2 kernel
// (every CPU with AVX-512 F/BW/VL has AVX2, cpu_features.cc requires it), 1 to the portable path.
#if defined(__x86_64__)
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* placeholders.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "blake3/blake3_impl.h"

namespace sv::blake3 {
namespace {

#define SV_ALWAYS_INLINE inline __attribute__((always_inline))

SV_ALWAYS_INLINE __m512i Add(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
SV_ALWAYS_INLINE __m512i Xor(__m512i a, __m512i b) { return _mm512_xor_si512(a, b); }

// One round: the four column G's, then the four diagonal G's, each step interleaved across the four G's
// so that four independent dependency chains are in flight.
template <int R>
SV_ALWAYS_INLINE void Round(__m512i v[16], const __m512i* m) {
  constexpr const uint8_t* s = kMsgSchedule[R];
  // Columns.
  v[0] = Add(Add(v[0], v[4]), m[s[0]]);
  v[1] = Add(Add(v[1], v[5]), m[s[2]]);
  v[2] = Add(Add(v[2], v[6]), m[s[4]]);
  v[3] = Add(Add(v[3], v[7]), m[s[6]]);
  v[12] = _mm512_ror_epi32(Xor(v[12], v[0]), 16);
  v[13] = _mm512_ror_epi32(Xor(v[13], v[1]), 16);
  v[14] = _mm512_ror_epi32(Xor(v[14], v[2]), 16);
  v[15] = _mm512_ror_epi32(Xor(v[15], v[3]), 16);
  v[8] = Add(v[8], v[12]);
  v[9] = Add(v[9], v[13]);
  v[10] = Add(v[10], v[14]);
  v[11] = Add(v[11], v[15]);
  v[4] = _mm512_ror_epi32(Xor(v[4], v[8]), 12);
  v[5] = _mm512_ror_epi32(Xor(v[5], v[9]), 12);
  v[6] = _mm512_ror_epi32(Xor(v[6], v[10]), 12);
  v[7] = _mm512_ror_epi32(Xor(v[7], v[11]), 12);
  v[0] = Add(Add(v[0], v[4]), m[s[1]]);
  v[1] = Add(Add(v[1], v[5]), m[s[3]]);
  v[2] = Add(Add(v[2], v[6]), m[s[5]]);
  v[3] = Add(Add(v[3], v[7]), m[s[7]]);
  v[12] = _mm512_ror_epi32(Xor(v[12], v[0]), 8);
  v[13] = _mm512_ror_epi32(Xor(v[13], v[1]), 8);
  v[14] = _mm512_ror_epi32(Xor(v[14], v[2]), 8);
  v[15] = _mm512_ror_epi32(Xor(v[15], v[3]), 8);
  v[8] = Add(v[8], v[12]);
  v[9] = Add(v[9], v[13]);
  v[10] = Add(v[10], v[14]);
  v[11] = Add(v[11], v[15]);
  v[4] = _mm512_ror_epi32(Xor(v[4], v[8]), 7);
  v[5] = _mm512_ror_epi32(Xor(v[5], v[9]), 7);
  v[6] = _mm512_ror_epi32(Xor(v[6], v[10]), 7);
  v[7] = _mm512_ror_epi32(Xor(v[7], v[11]), 7);
  // Diagonals: (0,5,10,15) (1,6,11,12) (2,7,8,13) (3,4,9,14).
  v[0] = Add(Add(v[0], v[5]), m[s[8]]);
  v[1] = Add(Add(v[1], v[6]), m[s[10]]);
  v[2] = Add(Add(v[2], v[7]), m[s[12]]);
  v[3] = Add(Add(v[3], v[4]), m[s[14]]);
  v[15] = _mm512_ror_epi32(Xor(v[15], v[0]), 16);
  v[12] = _mm512_ror_epi32(Xor(v[12], v[1]), 16);
  v[13] = _mm512_ror_epi32(Xor(v[13], v[2]), 16);
  v[14] = _mm512_ror_epi32(Xor(v[14], v[3]), 16);
  v[10] = Add(v[10], v[15]);
  v[11] = Add(v[11], v[12]);
  v[8] = Add(v[8], v[13]);
  v[9] = Add(v[9], v[14]);
  v[5] = _mm512_ror_epi32(Xor(v[5], v[10]), 12);
  v[6] = _mm512_ror_epi32(Xor(v[6], v[11]), 12);
  v[7] = _mm512_ror_epi32(Xor(v[7], v[8]), 12);
  v[4] = _mm512_ror_epi32(Xor(v[4], v[9]), 12);
  v[0] = Add(Add(v[0], v[5]), m[s[9]]);
  v[1] = Add(Add(v[1], v[6]), m[s[11]]);
  v[2] = Add(Add(v[2], v[7]), m[s[13]]);
  v[3] = Add(Add(v[3], v[4]), m[s[15]]);
  v[15] = _mm512_ror_epi32(Xor(v[15], v[0]), 8);
  v[12] = _mm512_ror_epi32(Xor(v[12], v[1]), 8);
  v[13] = _mm512_ror_epi32(Xor(v[13], v[2]), 8);
  v[14] = _mm512_ror_epi32(Xor(v[14], v[3]), 8);
  v[10] = Add(v[10], v[15]);
  v[11] = Add(v[11], v[12]);
  v[8] = Add(v[8], v[13]);
  v[9] = Add(v[9], v[14]);
  v[5] = _mm512_ror_epi32(Xor(v[5], v[10]), 7);
  v[6] = _mm512_ror_epi32(Xor(v[6], v[11]), 7);
  v[7] = _mm512_ror_epi32(Xor(v[7], v[8]), 7);
  v[4] = _mm512_ror_epi32(Xor(v[4], v[9]), 7);
}

// 4x4 transpose of 128-bit lanes across t0..t3: out q, lane g = t_g lane q.
SV_ALWAYS_INLINE void Transpose128(__m512i t0, __m512i t1, __m512i t2, __m512i t3, __m512i* o0, __m512i* o1,
                                   __m512i* o2, __m512i* o3) {
  const __m512i u0 = _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));  // t0[0] t0[2] t1[0] t1[2]
  const __m512i u1 = _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));  // t0[1] t0[3] t1[1] t1[3]
  const __m512i u2 = _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(2, 0, 2, 0));
  const __m512i u3 = _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(3, 1, 3, 1));
  *o0 = _mm512_shuffle_i32x4(u0, u2, _MM_SHUFFLE(2, 0, 2, 0));  // t0[0] t1[0] t2[0] t3[0]
  *o2 = _mm512_shuffle_i32x4(u0, u2, _MM_SHUFFLE(3, 1, 3, 1));  // t0[2] t1[2] t2[2] t3[2]
  *o1 = _mm512_shuffle_i32x4(u1, u3, _MM_SHUFFLE(2, 0, 2, 0));
  *o3 = _mm512_shuffle_i32x4(u1, u3, _MM_SHUFFLE(3, 1, 3, 1));
}

// Loads block `offset` of 16 inputs (row l = input l, 16 words) and writes m[w] = word w of every input.
SV_ALWAYS_INLINE void LoadTransposed(const uint8_t* const* in, size_t offset, __m512i m[16]) {
  __m512i t[16];
  for (int g = 0; g < 4; g++) {
    // Rows 4g..4g+3 -> t[4g + j]: 128-bit lane q holds word 4q + j of inputs 4g..4g+3.
    const __m512i r0 = _mm512_loadu_si512(in[4 * g + 0] + offset);
    const __m512i r1 = _mm512_loadu_si512(in[4 * g + 1] + offset);
    const __m512i r2 = _mm512_loadu_si512(in[4 * g + 2] + offset);
    const __m512i r3 = _mm512_loadu_si512(in[4 * g + 3] + offset);
    const __m512i a01 = _mm512_unpacklo_epi32(r0, r1);  // r0w0 r1w0 r0w1 r1w1 per lane
    const __m512i b01 = _mm512_unpackhi_epi32(r0, r1);  // r0w2 r1w2 r0w3 r1w3
    const __m512i a23 = _mm512_unpacklo_epi32(r2, r3);
    const __m512i b23 = _mm512_unpackhi_epi32(r2, r3);
    t[4 * g + 0] = _mm512_unpacklo_epi64(a01, a23);
    t[4 * g + 1] = _mm512_unpackhi_epi64(a01, a23);
    t[4 * g + 2] = _mm512_unpacklo_epi64(b01, b23);
    t[4 * g + 3] = _mm512_unpackhi_epi64(b01, b23);
  }
  for (int j = 0; j < 4; j++) {
    Transpose128(t[j], t[4 + j], t[8 + j], t[12 + j], &m[j], &m[4 + j], &m[8 + j], &m[12 + j]);
  }
}

// Writes cv[0..7] (lane l = input l) as 16 consecutive 32-byte outputs.
SV_ALWAYS_INLINE void StoreTransposed(const __m512i cv[8], uint8_t* out) {
  __m512i s[8];  // s[h*4 + j]: 128-bit lane q holds words 4h..4h+3 of input 4q + j
  for (int h = 0; h < 2; h++) {
    const __m512i* c = cv + 4 * h;
    const __m512i a01 = _mm512_unpacklo_epi32(c[0], c[1]);
    const __m512i b01 = _mm512_unpackhi_epi32(c[0], c[1]);
    const __m512i a23 = _mm512_unpacklo_epi32(c[2], c[3]);
    const __m512i b23 = _mm512_unpackhi_epi32(c[2], c[3]);
    s[4 * h + 0] = _mm512_unpacklo_epi64(a01, a23);
    s[4 * h + 1] = _mm512_unpackhi_epi64(a01, a23);
    s[4 * h + 2] = _mm512_unpacklo_epi64(b01, b23);
    s[4 * h + 3] = _mm512_unpackhi_epi64(b01, b23);
  }
  // Input 4q + j = lane q of s[j] (words 0-3) followed by lane q of s[4 + j] (words 4-7).
  const __m512i lo = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);     // q = 0, 1
  const __m512i hi = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);   // q = 2, 3
  for (int j = 0; j < 4; j++) {
    const __m512i x = _mm512_permutex2var_epi64(s[j], lo, s[4 + j]);
    const __m512i y = _mm512_permutex2var_epi64(s[j], hi, s[4 + j]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (0 + j) * kOutBytes), _mm512_castsi512_si256(x));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (4 + j) * kOutBytes), _mm512_extracti64x4_epi64(x, 1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (8 + j) * kOutBytes), _mm512_castsi512_si256(y));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (12 + j) * kOutBytes), _mm512_extracti64x4_epi64(y, 1));
  }
}

// Hashes exactly 16 inputs of `blocks` blocks each.
void HashMany16(const uint8_t* const* inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
                bool incrementCounter, uint8_t flags, uint8_t flagsStart, uint8_t flagsEnd, uint8_t* out) {
  __m512i cv[8];
  for (int w = 0; w < 8; w++) cv[w] = _mm512_set1_epi32(static_cast<int>(key[w]));
  const __m512i lo0 = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(counter)));
  const __m512i hi0 = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(counter >> 32)));
  __m512i counterLo = lo0, counterHi = hi0;
  if (incrementCounter) {
    // lo + lane, with the carry into hi where the low word wrapped.
    counterLo = _mm512_add_epi32(lo0, _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    const __mmask16 carry = _mm512_cmplt_epu32_mask(counterLo, lo0);
    counterHi = _mm512_mask_add_epi32(hi0, carry, hi0, _mm512_set1_epi32(1));
  }
  alignas(64) __m512i m[16];
  for (size_t b = 0; b < blocks; b++) {
    const size_t offset = b * kBlockBytes;
    LoadTransposed(inputs, offset, m);
    if (b + 1 < blocks) {
      for (int l = 0; l < 16; l++) _mm_prefetch(reinterpret_cast<const char*>(inputs[l] + offset + kBlockBytes), _MM_HINT_T0);
    }
    // Forces m through memory, so the rounds load words from the stack block. Measured at 1 MiB, best of six
    // alternating runs on the loaded machine: 5.2 GB/s with it, 5.0 without (GCC then keeps more of the
    // transpose in registers and spills less, but runs no faster): within noise, kept as the no-slower one.
    __asm__ volatile("" : : "r"(m) : "memory");
    uint32_t f = flags;
    if (b == 0) f |= flagsStart;
    if (b + 1 == blocks) f |= flagsEnd;
    __m512i v[16];
    for (int w = 0; w < 8; w++) v[w] = cv[w];
    v[8] = _mm512_set1_epi32(static_cast<int>(kIv[0]));
    v[9] = _mm512_set1_epi32(static_cast<int>(kIv[1]));
    v[10] = _mm512_set1_epi32(static_cast<int>(kIv[2]));
    v[11] = _mm512_set1_epi32(static_cast<int>(kIv[3]));
    v[12] = counterLo;
    v[13] = counterHi;
    v[14] = _mm512_set1_epi32(static_cast<int>(kBlockBytes));
    v[15] = _mm512_set1_epi32(static_cast<int>(f));
    Round<0>(v, m);
    Round<1>(v, m);
    Round<2>(v, m);
    Round<3>(v, m);
    Round<4>(v, m);
    Round<5>(v, m);
    Round<6>(v, m);
    for (int w = 0; w < 8; w++) cv[w] = Xor(v[w], v[w + 8]);
  }
  StoreTransposed(cv, out);
}


// Per round, the message words of its four column G's (x then y) and four diagonal G's (x then y), as one
// vpermd index: lane i of 128-bit part p of the permuted block is word kMsgSchedule[r][2i + ...] of that step.
struct RoundIndex {
  alignas(64) uint32_t idx[7][16];
  constexpr RoundIndex() : idx() {
    for (int r = 0; r < 7; r++) {
      for (int i = 0; i < 4; i++) {
        idx[r][0 + i] = kMsgSchedule[r][2 * i];
        idx[r][4 + i] = kMsgSchedule[r][2 * i + 1];
        idx[r][8 + i] = kMsgSchedule[r][8 + 2 * i];
        idx[r][12 + i] = kMsgSchedule[r][8 + 2 * i + 1];
      }
    }
  }
};
constexpr RoundIndex kRoundIndex;

SV_ALWAYS_INLINE void G4(__m128i& a, __m128i& b, __m128i& c, __m128i& d, __m128i mx, __m128i my) {
  a = _mm_add_epi32(_mm_add_epi32(a, mx), b);
  d = _mm_ror_epi32(_mm_xor_si128(d, a), 16);
  c = _mm_add_epi32(c, d);
  b = _mm_ror_epi32(_mm_xor_si128(b, c), 12);
  a = _mm_add_epi32(_mm_add_epi32(a, my), b);
  d = _mm_ror_epi32(_mm_xor_si128(d, a), 8);
  c = _mm_add_epi32(c, d);
  b = _mm_ror_epi32(_mm_xor_si128(b, c), 7);
}

}  // namespace

// Single-block compression, one state row per xmm register (as blake3_compress_sse41.cc), with the two
// things AVX-512 adds: vprord for every rotation, and the whole 64-byte block in one zmm so that each
// round's 16 message words come from one vpermd plus three lane extracts instead of 16 scalar inserts.
// Still latency-bound (~82 ns per chained block against 90 portable), but a 1 KiB input is nothing else:
// 1 KiB 0.53-0.62 -> 0.70 GB/s against the portable compression in the same Hasher (C++ harness).
void CompressCvAvx512(const uint32_t cv[8], const uint8_t block[kBlockBytes], uint8_t blockLen, uint64_t counter,
                      uint8_t flags, uint32_t out[8]) {
  const __m512i msg = _mm512_loadu_si512(block);
  __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv));
  __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv + 4));
  __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIv));
  __m128i d = _mm_set_epi32(flags, blockLen, static_cast<int>(static_cast<uint32_t>(counter >> 32)),
                            static_cast<int>(static_cast<uint32_t>(counter)));
#pragma GCC unroll 7
  for (int r = 0; r < 7; r++) {
    const __m512i w = _mm512_permutexvar_epi32(_mm512_load_si512(kRoundIndex.idx[r]), msg);
    G4(a, b, c, d, _mm512_castsi512_si128(w), _mm512_extracti32x4_epi32(w, 1));
    b = _mm_shuffle_epi32(b, _MM_SHUFFLE(0, 3, 2, 1));  // lane i <- b[i + 1]
    c = _mm_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));  // lane i <- c[i + 2]
    d = _mm_shuffle_epi32(d, _MM_SHUFFLE(2, 1, 0, 3));  // lane i <- d[i + 3]
    G4(a, b, c, d, _mm512_extracti32x4_epi32(w, 2), _mm512_extracti32x4_epi32(w, 3));
    b = _mm_shuffle_epi32(b, _MM_SHUFFLE(2, 1, 0, 3));
    c = _mm_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));
    d = _mm_shuffle_epi32(d, _MM_SHUFFLE(0, 3, 2, 1));
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 4), _mm_xor_si128(b, d));
}

void HashManyAvx512(const uint8_t* const* inputs, size_t count, size_t blocks, const uint32_t* key, uint64_t counter,
                    bool incrementCounter, uint8_t flags, uint8_t flagsStart, uint8_t flagsEnd, uint8_t* out) {
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    HashMany16(inputs + i, blocks, key, counter + (incrementCounter ? i : 0), incrementCounter, flags, flagsStart,
               flagsEnd, out + i * kOutBytes);
  }
  const size_t rest = count - i;
  if (rest > 8) {
    // One padded pass: spare lanes repeat the last input, their outputs are discarded.
    const uint8_t* padded[16];
    for (size_t l = 0; l < 16; l++) padded[l] = inputs[i + (l < rest ? l : rest - 1)];
    alignas(64) uint8_t tmp[16 * kOutBytes];
    HashMany16(padded, blocks, key, counter + (incrementCounter ? i : 0), incrementCounter, flags, flagsStart,
               flagsEnd, tmp);
    std::memcpy(out + i * kOutBytes, tmp, rest * kOutBytes);
  } else if (rest > 0) {
    HashManyAvx2(inputs + i, rest, blocks, key, counter + (incrementCounter ? i : 0), incrementCounter, flags,
                 flagsStart, flagsEnd, out + i * kOutBytes);
  }
}

}  // namespace sv::blake3
#endif
