// NEON split-nibble kernel (vqtbl1q_u8 looks up 16-entry tables). Up to 4 outputs per pass; tails under 16
// bytes use the scalar reference. Built only for aarch64; test/native/neon.sh runs it under qemu-aarch64
// against the scalar oracle.
#if defined(__aarch64__)
#include <arm_neon.h>

#include "ec/ec_kernels.h"

namespace sv::ec {
namespace {

template <int R>
void Rows(const gf::CoefTables& t, int row0, const uint8_t* const* src, uint8_t* const* dst, size_t offset,
          size_t len) {
  const int k = t.k;
  const uint8_t* tables = &t.split[static_cast<size_t>(row0) * k * 32];
  const uint8x16_t nibble = vdupq_n_u8(0x0f);
  const size_t end = offset + len;
  size_t c = offset;
  for (; c + 16 <= end; c += 16) {
    uint8x16_t acc[R];
    for (int r = 0; r < R; r++) acc[r] = vdupq_n_u8(0);
    for (int j = 0; j < k; j++) {
      const uint8x16_t x = vld1q_u8(src[j] + c);
      const uint8x16_t lo = vandq_u8(x, nibble);
      const uint8x16_t hi = vshrq_n_u8(x, 4);
      for (int r = 0; r < R; r++) {
        const uint8_t* tb = tables + (static_cast<size_t>(r) * k + j) * 32;
        acc[r] = veorq_u8(acc[r], veorq_u8(vqtbl1q_u8(vld1q_u8(tb), lo), vqtbl1q_u8(vld1q_u8(tb + 16), hi)));
      }
    }
    for (int r = 0; r < R; r++) vst1q_u8(dst[row0 + r] + c, acc[r]);
  }
  if (c < end) DotScalarRows(t, row0, R, src, dst, c, end - c);
}

}  // namespace

void DotNeon(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len) {
  ForRowGroups<4>(t.rows, [&](auto r, int row0) { Rows<decltype(r)::value>(t, row0, src, dst, offset, len); });
}

}  // namespace sv::ec
#endif
