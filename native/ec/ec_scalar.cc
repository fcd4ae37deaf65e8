// The scalar reference kernel: the oracle every SIMD kernel is tested against. Plain split-nibble tables,
// no tricks. Also used for short tails by kernels without masked loads.
#include "ec/ec_kernels.h"

#include <cstring>

#include "common/sv_assert.h"

namespace sv::ec {

void DotScalarRows(const gf::CoefTables& t, int row0, int rowCount, const uint8_t* const* src, uint8_t* const* dst,
                   size_t offset, size_t len) {
  SV_ASSERT(row0 >= 0 && rowCount >= 0 && row0 + rowCount <= t.rows);
  const int k = t.k;
  for (int r = row0; r < row0 + rowCount; r++) {
    uint8_t* out = dst[r] + offset;
    std::memset(out, 0, len);
    for (int j = 0; j < k; j++) {
      const uint8_t* tbl = &t.split[(static_cast<size_t>(r) * k + j) * 32];
      const uint8_t* in = src[j] + offset;
      for (size_t c = 0; c < len; c++) out[c] ^= tbl[in[c] & 15] ^ tbl[16 + (in[c] >> 4)];
    }
  }
}

void DotScalar(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t offset, size_t len) {
  DotScalarRows(t, 0, t.rows, src, dst, offset, len);
}

}  // namespace sv::ec
