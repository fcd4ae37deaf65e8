// Cross-architecture check of the BLAKE3 NEON hash_many: built for aarch64 and run under qemu-aarch64 by
// test/native/neon.sh. Compares HashManyNeon with HashManyPortable for random chunk counts, counters
// (including one that crosses 2^32) and flags. Prints "blake3 neon mismatches=0 cases=N".
#include <cstdio>
#include <cstring>
#include <vector>

#include "blake3/blake3_impl.h"

int main() {
  using namespace sv::blake3;
  uint32_t x = 0x12345678u;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  int mismatches = 0, cases = 0;
  for (int iter = 0; iter < 200; iter++) {
    const size_t count = 1 + next() % 11;
    const size_t blocks = iter % 3 == 0 ? 1 : 16;  // parent-sized or chunk-sized inputs
    std::vector<std::vector<uint8_t>> data(count, std::vector<uint8_t>(blocks * kBlockBytes));
    std::vector<const uint8_t*> inputs(count);
    for (size_t i = 0; i < count; i++) {
      for (auto& b : data[i]) b = static_cast<uint8_t>(next());
      inputs[i] = data[i].data();
    }
    uint32_t key[8];
    for (auto& k : key) k = next();
    const uint64_t counter = iter % 5 == 0 ? 0xFFFFFFFEull : next();
    const uint8_t flags = static_cast<uint8_t>(next() & kKeyedHash);
    std::vector<uint8_t> a(count * kOutBytes), b(count * kOutBytes);
    HashManyNeon(inputs.data(), count, blocks, key, counter, true, flags, kChunkStart, kChunkEnd, a.data());
    HashManyPortable(inputs.data(), count, blocks, key, counter, true, flags, kChunkStart, kChunkEnd, b.data());
    if (a != b) {
      mismatches++;
      std::printf("mismatch count=%zu blocks=%zu counter=%llu\n", count, blocks, static_cast<unsigned long long>(counter));
    }
    cases++;
  }
  std::printf("blake3 neon mismatches=%d cases=%d\n", mismatches, cases);
  return mismatches == 0 ? 0 : 1;
}
