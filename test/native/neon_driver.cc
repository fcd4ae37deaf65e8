// Cross-architecture check of the NEON codec kernel: built with aarch64-linux-gnu-g++ and run under
// qemu-aarch64 by test/native/neon.sh. Compares DotNeon with DotScalar (the oracle) over random k, m,
// lengths and misaligned offsets, including shards that end exactly at the end of their allocation.
// Prints "neon mismatches=0 cases=N" and exits 0 on success. Timing under emulation means nothing.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "ec/ec_kernels.h"
#include "ec/gf.h"

namespace {

uint32_t state = 0x9e3779b9u;
uint32_t Next() {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

}  // namespace

int main() {
  int mismatches = 0;
  int cases = 0;
  for (int iter = 0; iter < 300; iter++) {
    const int k = 1 + Next() % 32;
    const int m = 1 + Next() % 8;
    const size_t len = 1 + Next() % (iter % 10 == 0 ? 70000 : 700);
    const size_t offset = Next() % 17;
    std::vector<uint8_t> coef(static_cast<size_t>(m) * k);
    const std::vector<uint8_t> gen = sv::gf::CauchyGenerator(k, m);
    std::memcpy(coef.data(), gen.data() + static_cast<size_t>(k) * k, coef.size());
    const sv::gf::CoefTables t = sv::gf::MakeTables(coef.data(), m, k);
    // Each buffer is exactly offset + len bytes: a kernel reading past the end would fault (or differ).
    std::vector<std::unique_ptr<uint8_t[]>> bufs;
    std::vector<const uint8_t*> src(k);
    std::vector<uint8_t*> a(m), b(m);
    for (int j = 0; j < k; j++) {
      bufs.emplace_back(new uint8_t[offset + len]);
      for (size_t i = 0; i < offset + len; i++) bufs.back()[i] = static_cast<uint8_t>(Next());
      src[j] = bufs.back().get();
    }
    for (int r = 0; r < m; r++) {
      bufs.emplace_back(new uint8_t[offset + len]());
      a[r] = bufs.back().get();
      bufs.emplace_back(new uint8_t[offset + len]());
      b[r] = bufs.back().get();
    }
    sv::ec::DotNeon(t, src.data(), a.data(), offset, len);
    sv::ec::DotScalar(t, src.data(), b.data(), offset, len);
    for (int r = 0; r < m; r++) {
      if (std::memcmp(a[r], b[r], offset + len) != 0) {
        mismatches++;
        std::printf("mismatch k=%d m=%d len=%zu offset=%zu row=%d\n", k, m, len, offset, r);
      }
    }
    cases++;
  }
  std::printf("neon mismatches=%d cases=%d\n", mismatches, cases);
  return mismatches == 0 ? 0 : 1;
}
