// Internals shared by the BLAKE3 files: the compression function and the hash_many kernel interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "blake3/blake3.h"

namespace sv::blake3 {

// Message word order of each round: round r uses m[kMsgSchedule[r][i]], the permutation of spec section 2.2
// (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8) applied r times. Every kernel reads this one table.
inline constexpr uint8_t kMsgSchedule[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},  {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},  {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},  {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  return v;
}

inline void Store32(uint8_t* p, uint32_t v) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  std::memcpy(p, &v, 4);
}

// The 16-word state after 7 rounds, before the feed-forward.
void CompressState(const uint32_t cv[8], const uint8_t block[kBlockBytes], uint8_t blockLen, uint64_t counter,
                   uint8_t flags, uint32_t state[16]);
// CV-producing compression: cv = first 8 words of state ^ last 8.
void CompressInPlace(uint32_t cv[8], const uint8_t block[kBlockBytes], uint8_t blockLen, uint64_t counter,
                     uint8_t flags);

// Single-block compression into a chaining value: out = first 8 words of the state ^ last 8 (also the first
// 32 bytes of a root output). out may alias cv. One per kernel (KernelCompressFn): portable, SSE4.1
// (sse41, avx2), AVX-512.
using CompressFn = void (*)(const uint32_t cv[8], const uint8_t block[kBlockBytes], uint8_t blockLen,
                            uint64_t counter, uint8_t flags, uint32_t out[8]);
void CompressCvPortable(const uint32_t cv[8], const uint8_t block[kBlockBytes], uint8_t blockLen, uint64_t counter,
                        uint8_t flags, uint32_t out[8]);
#if defined(__x86_64__)
void CompressCvSse41(const uint32_t*, const uint8_t*, uint8_t, uint64_t, uint8_t, uint32_t*);
void CompressCvAvx512(const uint32_t*, const uint8_t*, uint8_t, uint64_t, uint8_t, uint32_t*);
#endif

// Hashes `count` inputs of `blocks` whole 64-byte blocks each (a chunk: 16 blocks; a parent: 1 block) and
// writes `count` 32-byte chaining values to out. Input i uses counter + i when incrementCounter, else
// counter. flagsStart is or-ed into the first block, flagsEnd into the last. No ROOT flag ever.
using HashManyFn = void (*)(const uint8_t* const* inputs, size_t count, size_t blocks, const uint32_t key[8],
                            uint64_t counter, bool incrementCounter, uint8_t flags, uint8_t flagsStart,
                            uint8_t flagsEnd, uint8_t* out);

void HashManyPortable(const uint8_t* const* inputs, size_t count, size_t blocks, const uint32_t key[8],
                      uint64_t counter, bool incrementCounter, uint8_t flags, uint8_t flagsStart, uint8_t flagsEnd,
                      uint8_t* out);
#if defined(__x86_64__)
void HashManySse41(const uint8_t* const*, size_t, size_t, const uint32_t*, uint64_t, bool, uint8_t, uint8_t, uint8_t,
                   uint8_t*);
void HashManyAvx2(const uint8_t* const*, size_t, size_t, const uint32_t*, uint64_t, bool, uint8_t, uint8_t, uint8_t,
                  uint8_t*);
void HashManyAvx512(const uint8_t* const*, size_t, size_t, const uint32_t*, uint64_t, bool, uint8_t, uint8_t,
                    uint8_t, uint8_t*);
#endif
#if defined(__aarch64__)
void HashManyNeon(const uint8_t* const*, size_t, size_t, const uint32_t*, uint64_t, bool, uint8_t, uint8_t, uint8_t,
                  uint8_t*);
#endif

enum class Kernel : int { kPortable = 0, kSse41, kAvx2, kAvx512, kNeon, kCount };
const char* KernelName(Kernel k);
bool KernelFromName(const std::string& name, Kernel* out);
bool KernelSupported(Kernel k);
Kernel BestKernel();
// SHARDVAULT_BLAKE3_KERNEL if set (false + err when unknown/unsupported), else BestKernel().
bool DefaultKernel(Kernel* out, std::string* err);
// A kernel requested by name (the API option): false with `err` set when unknown or unsupported here.
bool ResolveKernel(const std::string& name, Kernel* out, std::string* err);
// The kernel in use by Hash/Hasher in this process (set once, from DefaultKernel; portable on error).
Kernel ActiveKernel();
HashManyFn KernelFn(Kernel k);
CompressFn KernelCompressFn(Kernel k);
// How many inputs the kernel hashes in parallel.
size_t KernelDegree(Kernel k);

}  // namespace sv::blake3
