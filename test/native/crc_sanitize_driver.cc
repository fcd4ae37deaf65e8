// Every CRC kernel this CPU has against the table kernel, built with AddressSanitizer and UBSan by
// test/native/crc-sanitize.sh: each input is its own heap block of exactly its length (at every offset 0..15
// of a larger block's tail as well), so a vector load or tail read past the end is reported, not silently
// absorbed by the neighbouring bytes a JS Buffer pool would provide. Prints "crc sanitize kernels=K cases=N".
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "crc/crc.h"

int main() {
  using namespace sv::crc;
  uint32_t x = 0x6a09e667u;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 1100; n++) lengths.push_back(n);
  for (size_t n : {4095u, 4096u, 4097u, 12287u, 12288u, 12289u, 40000u}) lengths.push_back(n);
  int kernels = 0, cases = 0, mismatches = 0;
  for (int k = 0; k < static_cast<int>(Kernel::kCount); k++) {
    const Kernel kernel = static_cast<Kernel>(k);
    if (!KernelSupported(kernel)) continue;
    kernels++;
    for (size_t n : lengths) {
      for (size_t offset : {size_t{0}, size_t{1}, size_t{7}, size_t{15}}) {
        // The input ends exactly where its heap block ends.
        std::unique_ptr<uint8_t[]> block(new uint8_t[n + offset]);
        for (size_t i = 0; i < n + offset; i++) block[i] = static_cast<uint8_t>(next());
        const uint8_t* p = block.get() + offset;
        const uint32_t prev = next();
        cases++;
        if (Crc32(prev, p, n, kernel) != Crc32(prev, p, n, Kernel::kTable) ||
            Crc32c(prev, p, n, kernel) != Crc32c(prev, p, n, Kernel::kTable) ||
            Crc64Nvme(prev * 0x9e3779b97f4a7c15ull, p, n, kernel) != Crc64Nvme(prev * 0x9e3779b97f4a7c15ull, p, n, Kernel::kTable)) {
          if (mismatches++ < 10) std::printf("mismatch: %s length %zu offset %zu\n", KernelName(kernel), n, offset);
        }
      }
    }
  }
  std::printf("crc sanitize kernels=%d cases=%d mismatches=%d\n", kernels, cases, mismatches);
  return mismatches == 0 ? 0 : 1;
}
