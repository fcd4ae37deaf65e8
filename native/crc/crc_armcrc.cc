// aarch64 kernel "armcrc": the ARMv8 CRC extension alone (__crc32d / __crc32cd, three interleaved streams on
// long inputs) for CRC32 and CRC32C, the table for CRC-64/NVME. For cores with the CRC extension but without
// PMULL (the crypto extension is optional: e.g. the Cortex-A72 of the Raspberry Pi 4). Compiled with
// -march=armv8-a+crc only (binding.gyp); offered when getauxval reports CRC32.
#if defined(__aarch64__)

#include <arm_acle.h>

#include "crc/crc_impl.h"

namespace sv::crc {
namespace {

inline uint32_t Crc32d(uint32_t r, uint64_t v) { return __crc32d(r, v); }
inline uint32_t Crc32b(uint32_t r, uint8_t v) { return __crc32b(r, v); }
inline uint32_t Crc32cd(uint32_t r, uint64_t v) { return __crc32cd(r, v); }
inline uint32_t Crc32cb(uint32_t r, uint8_t v) { return __crc32cb(r, v); }

constexpr size_t kBlock = 4096;  // bytes per stream of the three-stream loop

// Three independent chains of the CRC instruction hide its latency. Without PMULL the chains are joined by
// the carry-less multiply in software that Combine uses (a register is a polynomial: moving it kBlock bytes
// forward is Combine(v, 0, kBlock)), two per 12 KiB.
template <Algo A, uint32_t (*Step64)(uint32_t, uint64_t), uint32_t (*Step8)(uint32_t, uint8_t)>
uint64_t Update(uint64_t reg, const uint8_t* p, size_t len) {
  uint32_t r = static_cast<uint32_t>(reg);
  for (; len >= 3 * kBlock; p += 3 * kBlock, len -= 3 * kBlock) {
    uint32_t c0 = r, c1 = 0, c2 = 0;
    for (size_t i = 0; i < kBlock; i += 8) {
      c0 = Step64(c0, Load64(p + i));
      c1 = Step64(c1, Load64(p + kBlock + i));
      c2 = Step64(c2, Load64(p + 2 * kBlock + i));
    }
    r = static_cast<uint32_t>(Combine(A, Combine(A, c0, c1, kBlock), c2, kBlock));
  }
  for (; len >= 8; p += 8, len -= 8) r = Step64(r, Load64(p));
  for (; len > 0; p++, len--) r = Step8(r, *p);
  return r;
}

}  // namespace

KernelFns ArmCrcKernel() {
  return {Update<Algo::kCrc32, Crc32d, Crc32b>, Update<Algo::kCrc32c, Crc32cd, Crc32cb>, TableCrc64};
}

}  // namespace sv::crc

#endif  // __aarch64__
