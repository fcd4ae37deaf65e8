// The CRC kernels alone (no N-API, no JS): GB/s of each supported kernel on one buffer, repeated. Built and run
// by bench/crc.mjs with the same per-file ISA flags as binding.gyp. Usage: crc_kernels <bytes> <ms per cell>.
// Prints one line per kernel: "<kernel> <crc32 GB/s> <crc32c GB/s> <crc64nvme GB/s>".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "crc/crc.h"

int main(int argc, char** argv) {
  using namespace sv::crc;
  if (argc != 3) return 2;
  const size_t n = std::strtoull(argv[1], nullptr, 10);
  const double ms = std::strtod(argv[2], nullptr);
  if (n == 0 || n > (1u << 30) || !(ms > 0)) return 2;
  std::vector<uint8_t> buf(n);
  for (size_t i = 0; i < n; i++) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  for (int k = 0; k < static_cast<int>(Kernel::kCount); k++) {
    const Kernel kernel = static_cast<Kernel>(k);
    if (!KernelSupported(kernel)) continue;
    std::printf("%s", KernelName(kernel));
    for (int a = 0; a < 3; a++) {
      double best = 0;
      uint64_t acc = 0;
      for (int rep = 0; rep < 3; rep++) {
        size_t calls = 0;
        const auto start = std::chrono::steady_clock::now();
        double elapsed = 0;
        do {
          for (int i = 0; i < 16; i++, calls++) {
            acc += a == 0 ? Crc32(static_cast<uint32_t>(acc), buf.data(), n, kernel)
                   : a == 1 ? Crc32c(static_cast<uint32_t>(acc), buf.data(), n, kernel)
                            : Crc64Nvme(acc, buf.data(), n, kernel);
          }
          elapsed = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        } while (elapsed < ms * 1e6);
        best = std::max(best, static_cast<double>(calls) * n / elapsed);
      }
      if (acc == 1) std::printf(" ");  // keeps the loop's result alive
      std::printf(" %.2f", best);
    }
    std::printf("\n");
  }
  return 0;
}
