// Cross-architecture check of the aarch64 CRC kernels: built for aarch64 and run under qemu-aarch64 by
// test/native/crc-armv8.sh. Requires the dispatcher to offer "armcrc" (getauxval: CRC32) and "pmull" (CRC32 +
// PMULL), then compares each with the table kernel for the catalogue check values, every length 0..300 at
// offsets 0..15, long lengths across the folding and three-stream block sizes, and chained updates.
// Prints "crc <kernel> mismatches=0 cases=N best=<kernel>" per kernel.
#include <cstdio>
#include <vector>

#include "crc/crc.h"

using namespace sv::crc;

int Check(Kernel kernel) {
  if (!KernelSupported(kernel)) {
    std::printf("crc %s kernel not offered on this (emulated) CPU\n", KernelName(kernel));
    return 2;
  }
  uint32_t x = 0x9e3779b9u;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  std::vector<uint8_t> pool(70000);
  for (auto& b : pool) b = static_cast<uint8_t>(next());
  int mismatches = 0, cases = 0;
  auto compare = [&](const uint8_t* p, size_t n, uint32_t prev) {
    const uint64_t prev64 = (static_cast<uint64_t>(prev) << 32) | next();
    cases++;
    if (Crc32(prev, p, n, kernel) != Crc32(prev, p, n, Kernel::kTable) ||
        Crc32c(prev, p, n, kernel) != Crc32c(prev, p, n, Kernel::kTable) ||
        Crc64Nvme(prev64, p, n, kernel) != Crc64Nvme(prev64, p, n, Kernel::kTable)) {
      if (mismatches++ < 10) std::printf("mismatch: length %zu offset %zu\n", n, static_cast<size_t>(p - pool.data()));
    }
  };
  const uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  cases++;
  if (Crc32(0, check, 9, kernel) != 0xCBF43926u || Crc32c(0, check, 9, kernel) != 0xE3069283u ||
      Crc64Nvme(0, check, 9, kernel) != 0xAE8B14860A799888ull) {
    mismatches++;
    std::printf("mismatch: check values\n");
  }
  for (size_t offset = 0; offset < 16; offset++) {
    for (size_t n = 0; n <= 300; n++) compare(pool.data() + offset, n, next());
  }
  for (size_t n : {511u, 512u, 1000u, 4095u, 4096u, 4097u, 12287u, 12288u, 12289u, 24576u + 9u, 65536u + 7u}) {
    compare(pool.data() + n % 11, n, 0);
  }
  // Chained updates split at random points equal the one-shot table value.
  for (int round = 0; round < 30; round++) {
    const size_t n = next() % 60000;
    uint32_t a = 0, c = 0;
    uint64_t d = 0;
    for (size_t at = 0; at < n;) {
      size_t step = next() % 3000;
      if (step > n - at) step = n - at;
      a = Crc32(a, pool.data() + at, step, kernel);
      c = Crc32c(c, pool.data() + at, step, kernel);
      d = Crc64Nvme(d, pool.data() + at, step, kernel);
      at += step;
    }
    cases++;
    if (a != Crc32(0, pool.data(), n, Kernel::kTable) || c != Crc32c(0, pool.data(), n, Kernel::kTable) ||
        d != Crc64Nvme(0, pool.data(), n, Kernel::kTable)) {
      if (mismatches++ < 10) std::printf("mismatch: chained round %d length %zu\n", round, n);
    }
  }
  std::printf("crc %s mismatches=%d cases=%d best=%s\n", KernelName(kernel), mismatches, cases, KernelName(BestKernel()));
  return mismatches == 0 ? 0 : 1;
}

int main() {
  const int a = Check(Kernel::kArmCrc);
  const int b = Check(Kernel::kPmull);
  return a != 0 ? a : b;
}
