// x86-64 kernels "pclmul" (PCLMULQDQ folding for all three CRCs) and "sse42" (the same, except that CRC32C
// uses the SSE4.2 crc32 instruction on three interleaved streams). Compiled with -msse4.2 -mpclmul only;
// the dispatcher offers them when cpuid reports both (every PCLMULQDQ CPU has SSE4.2).
#include <nmmintrin.h>

#include "crc/crc_fold_x86.h"

namespace sv::crc {
namespace {

uint64_t PclmulCrc32(uint64_t reg, const uint8_t* p, size_t len) { return FoldUpdate(reg, p, len, Algo::kCrc32, TableCrc32); }
uint64_t PclmulCrc32c(uint64_t reg, const uint8_t* p, size_t len) { return FoldUpdate(reg, p, len, Algo::kCrc32c, TableCrc32c); }
uint64_t PclmulCrc64(uint64_t reg, const uint8_t* p, size_t len) { return FoldUpdate(reg, p, len, Algo::kCrc64Nvme, TableCrc64); }

uint64_t HwSerial(uint64_t reg, const uint8_t* p, size_t len) {
  while (len >= 8) {
    reg = _mm_crc32_u64(reg, Load64(p));
    p += 8;
    len -= 8;
  }
  uint32_t r = static_cast<uint32_t>(reg);
  while (len-- > 0) r = _mm_crc32_u8(r, *p++);
  return r;
}

// crc32c register c moved forward kShiftBytes[i] bytes: one carry-less multiply by x^(8n-33) and one crc32
// of the 64-bit product (which multiplies by x^32 and reduces).
inline uint64_t Shift(uint64_t c, uint64_t k) {
  const __m128i prod = _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<long long>(c)),
                                            _mm_cvtsi64_si128(static_cast<long long>(k)), 0x00);
  return _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(prod)));
}

// Three independent crc32 chains hide the instruction's 3-cycle latency; the chains are joined with Shift.
template <size_t kBlock>
uint64_t ThreeWay(uint64_t reg, const uint8_t** pp, size_t* lenp, uint64_t k) {
  const uint8_t* p = *pp;
  size_t len = *lenp;
  while (len >= 3 * kBlock) {
    uint64_t c0 = reg, c1 = 0, c2 = 0;
    for (size_t i = 0; i < kBlock; i += 8) {
      c0 = _mm_crc32_u64(c0, Load64(p + i));
      c1 = _mm_crc32_u64(c1, Load64(p + kBlock + i));
      c2 = _mm_crc32_u64(c2, Load64(p + 2 * kBlock + i));
    }
    reg = Shift(Shift(c0, k) ^ c1, k) ^ c2;
    p += 3 * kBlock;
    len -= 3 * kBlock;
  }
  *pp = p;
  *lenp = len;
  return reg;
}

uint64_t Sse42Crc32c(uint64_t reg, const uint8_t* p, size_t len) {
  const FoldConstants& c = Constants(Algo::kCrc32c);
  static_assert(kShiftBytes[0] == 256 && kShiftBytes[1] == 4096, "block sizes below");
  if (len >= 3 * 4096) reg = ThreeWay<4096>(reg, &p, &len, c.shift32[1]);
  if (len >= 3 * 256) reg = ThreeWay<256>(reg, &p, &len, c.shift32[0]);
  return HwSerial(reg, p, len);
}

}  // namespace

KernelFns PclmulKernel() { return {PclmulCrc32, PclmulCrc32c, PclmulCrc64}; }
KernelFns Sse42Kernel() { return {PclmulCrc32, Sse42Crc32c, PclmulCrc64}; }

}  // namespace sv::crc
