// Portable BLAKE3 compression (spec section 2.2) and the one-input-at-a-time hash_many: the reference the
// SIMD kernels are tested against.
#include "blake3/blake3_impl.h"

namespace sv::blake3 {

const uint32_t kIv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                         0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

namespace {

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline void G(uint32_t* s, int a, int b, int c, int d, uint32_t mx, uint32_t my) {
  s[a] = s[a] + s[b] + mx;
  s[d] = Rotr(s[d] ^ s[a], 16);
  s[c] = s[c] + s[d];
  s[b] = Rotr(s[b] ^ s[c], 12);
  s[a] = s[a] + s[b] + my;
  s[d] = Rotr(s[d] ^ s[a], 8);
  s[c] = s[c] + s[d];
  s[b] = Rotr(s[b] ^ s[c], 7);
}

}  // namespace

void CompressState(const uint32_t cv[8], const uint8_t block[kBlockBytes], uint8_t blockLen, uint64_t counter,
                   uint8_t flags, uint32_t s[16]) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++) m[i] = Load32(block + 4 * i);
  for (int i = 0; i < 8; i++) s[i] = cv[i];
  s[8] = kIv[0];
  s[9] = kIv[1];
  s[10] = kIv[2];
  s[11] = kIv[3];
  s[12] = static_cast<uint32_t>(counter);
  s[13] = static_cast<uint32_t>(counter >> 32);
  s[14] = blockLen;
  s[15] = flags;
#pragma GCC unroll 7
  for (int round = 0; round < 7; round++) {
    const uint8_t* k = kMsgSchedule[round];
    G(s, 0, 4, 8, 12, m[k[0]], m[k[1]]);
    G(s, 1, 5, 9, 13, m[k[2]], m[k[3]]);
    G(s, 2, 6, 10, 14, m[k[4]], m[k[5]]);
    G(s, 3, 7, 11, 15, m[k[6]], m[k[7]]);
    G(s, 0, 5, 10, 15, m[k[8]], m[k[9]]);
    G(s, 1, 6, 11, 12, m[k[10]], m[k[11]]);
    G(s, 2, 7, 8, 13, m[k[12]], m[k[13]]);
    G(s, 3, 4, 9, 14, m[k[14]], m[k[15]]);
  }
}

void CompressInPlace(uint32_t cv[8], const uint8_t block[kBlockBytes], uint8_t blockLen, uint64_t counter,
                     uint8_t flags) {
  uint32_t s[16];
  CompressState(cv, block, blockLen, counter, flags, s);
  for (int i = 0; i < 8; i++) cv[i] = s[i] ^ s[i + 8];
}

void CompressCvPortable(const uint32_t cv[8], const uint8_t block[kBlockBytes], uint8_t blockLen, uint64_t counter,
                        uint8_t flags, uint32_t out[8]) {
  uint32_t s[16];
  CompressState(cv, block, blockLen, counter, flags, s);
  for (int i = 0; i < 8; i++) out[i] = s[i] ^ s[i + 8];
}

void HashManyPortable(const uint8_t* const* inputs, size_t count, size_t blocks, const uint32_t key[8],
                      uint64_t counter, bool incrementCounter, uint8_t flags, uint8_t flagsStart, uint8_t flagsEnd,
                      uint8_t* out) {
  for (size_t i = 0; i < count; i++) {
    uint32_t cv[8];
    for (int w = 0; w < 8; w++) cv[w] = key[w];
    for (size_t b = 0; b < blocks; b++) {
      uint8_t f = flags;
      if (b == 0) f |= flagsStart;
      if (b + 1 == blocks) f |= flagsEnd;
      CompressInPlace(cv, inputs[i] + b * kBlockBytes, kBlockBytes, counter + (incrementCounter ? i : 0), f);
    }
    for (int w = 0; w < 8; w++) Store32(out + i * kOutBytes + 4 * w, cv[w]);
  }
}

}  // namespace sv::blake3
