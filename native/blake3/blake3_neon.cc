// BLAKE3 hash_many, NEON (4 lanes): the shared vector-extension kernel (blake3_simd.h) compiled with this file's
// ISA flags (binding.gyp).
#if defined(__aarch64__)
#include "blake3/blake3_simd.h"

namespace sv::blake3 {

void HashManyNeon(const uint8_t* const* inputs, size_t count, size_t blocks, const uint32_t* key, uint64_t counter,
                 bool incrementCounter, uint8_t flags, uint8_t flagsStart, uint8_t flagsEnd, uint8_t* out) {
  simd::HashMany<4>(inputs, count, blocks, key, counter, incrementCounter, flags, flagsStart, flagsEnd, out);
}

}  // namespace sv::blake3
#endif
