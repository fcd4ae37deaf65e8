// hash_many over N inputs at once, written once with GCC vector extensions and compiled per ISA by the
// files that include it (blake3_sse41.cc: N=4, blake3_neon.cc: N=4), each with its own -m flags. The 8- and
// 16-lane kernels are hand-written (blake3_avx2.cc, blake3_avx512.cc): compiled from this template their
// lane-by-lane message loads became ~380 scalar moves per block and the 16-lane one spilled state in the
// rounds (0.75x b3sum at 1 MiB, bench/RESULTS.md). Lane i of every vector belongs to input i; each input
// is compressed block by block exactly as in HashManyPortable, so results are identical by construction
// and checked by test/blake3-*.test.ts per forced kernel.
#pragma once

#include "blake3/blake3_impl.h"

namespace sv::blake3::simd {

template <int N>
struct V {
  typedef uint32_t type __attribute__((vector_size(N * 4)));
};

template <int N>
inline typename V<N>::type Rotr(typename V<N>::type x, int n) {
  return (x >> n) | (x << (32 - n));
}

template <int N>
inline void G(typename V<N>::type* s, int a, int b, int c, int d, typename V<N>::type mx, typename V<N>::type my) {
  s[a] = s[a] + s[b] + mx;
  s[d] = Rotr<N>(s[d] ^ s[a], 16);
  s[c] = s[c] + s[d];
  s[b] = Rotr<N>(s[b] ^ s[c], 12);
  s[a] = s[a] + s[b] + my;
  s[d] = Rotr<N>(s[d] ^ s[a], 8);
  s[c] = s[c] + s[d];
  s[b] = Rotr<N>(s[b] ^ s[c], 7);
}

// Hashes exactly N inputs.
template <int N>
void HashManyN(const uint8_t* const* inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
               bool incrementCounter, uint8_t flags, uint8_t flagsStart, uint8_t flagsEnd, uint8_t* out) {
  using T = typename V<N>::type;
  const T zero = {};
  T cv[8];
  for (int w = 0; w < 8; w++) cv[w] = zero + key[w];
  T counterLo = zero, counterHi = zero;
  for (int l = 0; l < N; l++) {
    const uint64_t c = counter + (incrementCounter ? static_cast<uint64_t>(l) : 0);
    counterLo[l] = static_cast<uint32_t>(c);
    counterHi[l] = static_cast<uint32_t>(c >> 32);
  }
  for (size_t b = 0; b < blocks; b++) {
    // Transpose: m[w] lane l = word w of block b of input l.
    // Gathered into plain lanes and copied in whole: assigning lane by lane into an uninitialized vector
    // is a read-modify-write of an indeterminate value (GCC's -Wmaybe-uninitialized said so, rightly).
    uint32_t lanes[16][N];
    for (int l = 0; l < N; l++) {
      const uint8_t* p = inputs[l] + b * kBlockBytes;
      for (int w = 0; w < 16; w++) lanes[w][l] = Load32(p + 4 * w);
    }
    T m[16];
    for (int w = 0; w < 16; w++) std::memcpy(&m[w], lanes[w], sizeof(T));
    uint8_t f = flags;
    if (b == 0) f |= flagsStart;
    if (b + 1 == blocks) f |= flagsEnd;
    // Every vector is written whole (scalar operands broadcast to all lanes).
    T s[16];
    for (int w = 0; w < 8; w++) s[w] = cv[w];
    for (int w = 0; w < 4; w++) s[8 + w] = zero + kIv[w];
    s[12] = counterLo;
    s[13] = counterHi;
    s[14] = zero + static_cast<uint32_t>(kBlockBytes);
    s[15] = zero + static_cast<uint32_t>(f);
    // Message schedule instead of permuting m between rounds: no vector copies, constant indices once
    // the rounds are unrolled (fewer moves and spills with 32 live vectors).
#pragma GCC unroll 7
    for (int round = 0; round < 7; round++) {
      const uint8_t* k = kMsgSchedule[round];
      G<N>(s, 0, 4, 8, 12, m[k[0]], m[k[1]]);
      G<N>(s, 1, 5, 9, 13, m[k[2]], m[k[3]]);
      G<N>(s, 2, 6, 10, 14, m[k[4]], m[k[5]]);
      G<N>(s, 3, 7, 11, 15, m[k[6]], m[k[7]]);
      G<N>(s, 0, 5, 10, 15, m[k[8]], m[k[9]]);
      G<N>(s, 1, 6, 11, 12, m[k[10]], m[k[11]]);
      G<N>(s, 2, 7, 8, 13, m[k[12]], m[k[13]]);
      G<N>(s, 3, 4, 9, 14, m[k[14]], m[k[15]]);
    }
    for (int w = 0; w < 8; w++) cv[w] = s[w] ^ s[w + 8];
  }
  for (int l = 0; l < N; l++) {
    for (int w = 0; w < 8; w++) Store32(out + l * kOutBytes + 4 * w, cv[w][l]);
  }
}

// Any count: groups of N; a remainder of two or more runs as one more full-width pass with the spare lanes
// repeating the last input (their outputs are discarded), since one N-lane pass costs far less than r
// portable compressions. A single leftover input goes through the portable path.
template <int N>
void HashMany(const uint8_t* const* inputs, size_t count, size_t blocks, const uint32_t key[8], uint64_t counter,
              bool incrementCounter, uint8_t flags, uint8_t flagsStart, uint8_t flagsEnd, uint8_t* out) {
  size_t i = 0;
  for (; i + N <= count; i += N) {
    HashManyN<N>(inputs + i, blocks, key, counter + (incrementCounter ? i : 0), incrementCounter, flags, flagsStart,
                 flagsEnd, out + i * kOutBytes);
  }
  const size_t rest = count - i;
  if (rest >= 2) {
    const uint8_t* padded[N];
    for (size_t l = 0; l < N; l++) padded[l] = inputs[i + (l < rest ? l : rest - 1)];
    uint8_t tmp[N * kOutBytes];
    HashManyN<N>(padded, blocks, key, counter + (incrementCounter ? i : 0), incrementCounter, flags, flagsStart,
                 flagsEnd, tmp);
    std::memcpy(out + i * kOutBytes, tmp, rest * kOutBytes);
  } else if (rest == 1) {
    HashManyPortable(inputs + i, 1, blocks, key, counter + (incrementCounter ? i : 0), incrementCounter, flags,
                     flagsStart, flagsEnd, out + i * kOutBytes);
  }
}

}  // namespace sv::blake3::simd
