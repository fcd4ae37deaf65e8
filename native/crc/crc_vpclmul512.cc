// x86-64 kernel "vpclmul512": AVX-512 VPCLMULQDQ folding, four 512-bit accumulators (16 lanes, 256 bytes per
// step), for all three CRCs; CRC32C finishes with the SSE4.2 crc32 instruction. Compiled with AVX-512F/BW/VL,
// VPCLMULQDQ, PCLMUL and SSE4.2; offered only when cpuid and xgetbv report all of them.
#include <immintrin.h>

#include "crc/crc_fold_x86.h"

namespace sv::crc {
namespace {

inline __m512i K512(const FoldConstants& c, int j) {
  return _mm512_broadcast_i32x4(K128(c, j));
}

inline __m512i Fold512(__m512i x, __m512i k, __m512i next) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11), next,
                                   0x96);
}

inline __m512i Load512(const uint8_t* p) { return _mm512_loadu_si512(p); }

uint64_t HwCrc32c(uint64_t reg, const uint8_t* p, size_t len) {
  while (len >= 8) {
    reg = _mm_crc32_u64(reg, Load64(p));
    p += 8;
    len -= 8;
  }
  uint32_t r = static_cast<uint32_t>(reg);
  while (len-- > 0) r = _mm_crc32_u8(r, *p++);
  return r;
}

template <Algo A>
uint64_t Update(uint64_t reg, const uint8_t* p, size_t len) {
  constexpr UpdateFn tail = A == Algo::kCrc32 ? TableCrc32 : A == Algo::kCrc32c ? HwCrc32c : TableCrc64;
  if (len < 256) {
    if (len < 16) return tail(reg, p, len);
    size_t used;
    const __m128i x = FoldAll128(reg, p, len, Constants(A), &used);
    return tail(FinishWith(tail, x), p + used, len - used);
  }
  const FoldConstants& c = Constants(A);
  __m512i v0 = _mm512_xor_si512(Load512(p), _mm512_zextsi128_si512(_mm_cvtsi64_si128(static_cast<long long>(reg))));
  __m512i v1 = Load512(p + 64), v2 = Load512(p + 128), v3 = Load512(p + 192);
  p += 256;
  len -= 256;
  const __m512i k16 = K512(c, 16);
  while (len >= 256) {
    v0 = Fold512(v0, k16, Load512(p));
    v1 = Fold512(v1, k16, Load512(p + 64));
    v2 = Fold512(v2, k16, Load512(p + 128));
    v3 = Fold512(v3, k16, Load512(p + 192));
    p += 256;
    len -= 256;
  }
  // Four registers into one (512 bits = 4 lanes apart each), then 64 bytes at a time.
  __m512i x = Fold512(v0, K512(c, 12), Fold512(v1, K512(c, 8), Fold512(v2, K512(c, 4), v3)));
  const __m512i k4 = K512(c, 4);
  while (len >= 64) {
    x = Fold512(x, k4, Load512(p));
    p += 64;
    len -= 64;
  }
  // The register's four lanes into one.
  __m128i y = _mm512_extracti32x4_epi32(x, 3);
  y = _mm_xor_si128(y, Fold(_mm512_extracti32x4_epi32(x, 2), K128(c, 1)));
  y = _mm_xor_si128(y, Fold(_mm512_extracti32x4_epi32(x, 1), K128(c, 2)));
  y = _mm_xor_si128(y, Fold(_mm512_castsi512_si128(x), K128(c, 3)));
  const __m128i k1 = K128(c, 1);
  while (len >= 16) {
    y = _mm_xor_si128(Fold(y, k1), Load128(p));
    p += 16;
    len -= 16;
  }
  return tail(FinishWith(tail, y), p, len);
}

}  // namespace

KernelFns Vpclmul512Kernel() {
  return {Update<Algo::kCrc32>, Update<Algo::kCrc32c>, Update<Algo::kCrc64Nvme>};
}

}  // namespace sv::crc
