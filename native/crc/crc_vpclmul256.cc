// x86-64 kernel "vpclmul256": VPCLMULQDQ on 256-bit registers, eight accumulators (16 lanes, 256 bytes per
// step), for all three CRCs; CRC32C finishes with the SSE4.2 crc32 instruction. For CPUs with VPCLMULQDQ but
// no AVX-512 (AMD Zen 3, Intel Alder Lake and later client cores), where it doubles the 128-bit pclmul kernel.
// Compiled with AVX2, VPCLMULQDQ, PCLMUL and SSE4.2 only; offered when cpuid and xgetbv report them.
#include <immintrin.h>

#include "crc/crc_fold_x86.h"

namespace sv::crc {
namespace {

inline __m256i K256(const FoldConstants& c, int j) { return _mm256_broadcastsi128_si256(K128(c, j)); }

inline __m256i Fold256(__m256i x, __m256i k) {
  return _mm256_xor_si256(_mm256_clmulepi64_epi128(x, k, 0x00), _mm256_clmulepi64_epi128(x, k, 0x11));
}

inline __m256i Load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

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
  __m256i v[8];
  for (int i = 0; i < 8; i++) v[i] = Load256(p + 32 * i);
  v[0] = _mm256_xor_si256(v[0], _mm256_zextsi128_si256(_mm_cvtsi64_si128(static_cast<long long>(reg))));
  p += 256;
  len -= 256;
  const __m256i k16 = K256(c, 16);
  while (len >= 256) {
    for (int i = 0; i < 8; i++) v[i] = _mm256_xor_si256(Fold256(v[i], k16), Load256(p + 32 * i));
    p += 256;
    len -= 256;
  }
  // Eight registers into one (register i is 7 - i registers, 2 * (7 - i) lanes, from the last), then 32 bytes
  // at a time, then its two lanes into one.
  __m256i x = v[7];
  for (int i = 0; i < 7; i++) x = _mm256_xor_si256(x, Fold256(v[i], K256(c, 2 * (7 - i))));
  const __m256i k2 = K256(c, 2);
  while (len >= 32) {
    x = _mm256_xor_si256(Fold256(x, k2), Load256(p));
    p += 32;
    len -= 32;
  }
  __m128i y = _mm_xor_si128(_mm256_extracti128_si256(x, 1), Fold(_mm256_castsi256_si128(x), K128(c, 1)));
  const __m128i k1 = K128(c, 1);
  while (len >= 16) {
    y = _mm_xor_si128(Fold(y, k1), Load128(p));
    p += 16;
    len -= 16;
  }
  return tail(FinishWith(tail, y), p, len);
}

}  // namespace

KernelFns Vpclmul256Kernel() {
  return {Update<Algo::kCrc32>, Update<Algo::kCrc32c>, Update<Algo::kCrc64Nvme>};
}

}  // namespace sv::crc
