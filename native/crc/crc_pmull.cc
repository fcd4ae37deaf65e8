// aarch64 kernel "pmull": PMULL folding (eight 128-bit lanes) for all three CRCs; CRC32 and CRC32C finish, and
// handle short inputs, with the ARMv8 CRC extension (__crc32d / __crc32cd), CRC-64/NVME with the table.
// Compiled with -march=armv8-a+crc+crypto (binding.gyp); offered when getauxval reports CRC32 and PMULL.
#if defined(__aarch64__)

#include <arm_acle.h>
#include <arm_neon.h>

#include "crc/crc_impl.h"

namespace sv::crc {
namespace {

struct K {
  poly64_t lo, hi;  // x^(D+63), x^(D-1)
};

inline K KFor(const FoldConstants& c, int j) { return {static_cast<poly64_t>(c.k[j][0]), static_cast<poly64_t>(c.k[j][1])}; }

inline uint64x2_t Fold(uint64x2_t x, K k) {
  const poly128_t a = vmull_p64(static_cast<poly64_t>(vgetq_lane_u64(x, 0)), k.lo);
  const poly128_t b = vmull_p64(static_cast<poly64_t>(vgetq_lane_u64(x, 1)), k.hi);
  return veorq_u64(vreinterpretq_u64_p128(a), vreinterpretq_u64_p128(b));
}

inline uint64x2_t Load128(const uint8_t* p) { return vreinterpretq_u64_u8(vld1q_u8(p)); }

uint64_t ArmCrc32(uint64_t reg, const uint8_t* p, size_t len) {
  uint32_t r = static_cast<uint32_t>(reg);
  for (; len >= 8; p += 8, len -= 8) r = __crc32d(r, Load64(p));
  for (; len > 0; p++, len--) r = __crc32b(r, *p);
  return r;
}

uint64_t ArmCrc32c(uint64_t reg, const uint8_t* p, size_t len) {
  uint32_t r = static_cast<uint32_t>(reg);
  for (; len >= 8; p += 8, len -= 8) r = __crc32cd(r, Load64(p));
  for (; len > 0; p++, len--) r = __crc32cb(r, *p);
  return r;
}

template <Algo A>
uint64_t Update(uint64_t reg, const uint8_t* p, size_t len) {
  constexpr UpdateFn tail = A == Algo::kCrc32 ? ArmCrc32 : A == Algo::kCrc32c ? ArmCrc32c : TableCrc64;
  if (len < 64) return tail(reg, p, len);
  const FoldConstants& c = Constants(A);
  const uint64x2_t r0 = vsetq_lane_u64(reg, vdupq_n_u64(0), 0);
  uint64x2_t x;
  if (len >= 128) {
    uint64x2_t v[8];
    for (int i = 0; i < 8; i++) v[i] = Load128(p + 16 * i);
    v[0] = veorq_u64(v[0], r0);
    p += 128;
    len -= 128;
    const K k8 = KFor(c, 8);
    while (len >= 128) {
      for (int i = 0; i < 8; i++) v[i] = veorq_u64(Fold(v[i], k8), Load128(p + 16 * i));
      p += 128;
      len -= 128;
    }
    x = v[7];
    for (int i = 0; i < 7; i++) x = veorq_u64(x, Fold(v[i], KFor(c, 7 - i)));
  } else {
    x = veorq_u64(Load128(p), r0);
    p += 16;
    len -= 16;
  }
  const K k1 = KFor(c, 1);
  for (; len >= 16; p += 16, len -= 16) x = veorq_u64(Fold(x, k1), Load128(p));
  uint8_t b[16];
  vst1q_u8(b, vreinterpretq_u8_u64(x));
  return tail(tail(0, b, 16), p, len);
}

}  // namespace

KernelFns PmullKernel() { return {Update<Algo::kCrc32>, Update<Algo::kCrc32c>, Update<Algo::kCrc64Nvme>}; }

}  // namespace sv::crc

#endif  // __aarch64__
