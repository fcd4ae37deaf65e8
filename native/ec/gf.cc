#include "ec/gf.h"

#include "common/sv_assert.h"

namespace sv::gf {
namespace {

struct Field {
  uint8_t exp[512];
  uint8_t log[256];
  Field() {
    unsigned x = 1;
    for (int i = 0; i < 255; i++) {
      exp[i] = static_cast<uint8_t>(x);
      log[x] = static_cast<uint8_t>(i);
      x <<= 1;
      if (x & 0x100) x ^= 0x11D;
    }
    for (int i = 255; i < 512; i++) exp[i] = exp[i - 255];
    log[0] = 0;  // never used: Mul and Inv check for zero first
  }
};

const Field& F() {
  static const Field field;
  return field;
}

}  // namespace

uint8_t Mul(uint8_t a, uint8_t b) {
  if (a == 0 || b == 0) return 0;
  const Field& f = F();
  return f.exp[f.log[a] + f.log[b]];
}

uint8_t Inv(uint8_t a) {
  SV_ASSERT(a != 0);
  const Field& f = F();
  return f.exp[255 - f.log[a]];
}

std::vector<uint8_t> CauchyGenerator(int k, int m) {
  SV_ASSERT(k >= 1 && m >= 0 && k + m <= 256);
  std::vector<uint8_t> a(static_cast<size_t>(k + m) * k, 0);
  for (int i = 0; i < k; i++) a[static_cast<size_t>(i) * k + i] = 1;
  for (int i = k; i < k + m; i++) {
    for (int j = 0; j < k; j++) {
      // i > j always (i >= k > j), so i ^ j != 0.
      a[static_cast<size_t>(i) * k + j] = Inv(static_cast<uint8_t>(i ^ j));
    }
  }
  return a;
}

bool Invert(std::vector<uint8_t>& a, int n) {
  SV_ASSERT(a.size() == static_cast<size_t>(n) * n);
  std::vector<uint8_t> inv(static_cast<size_t>(n) * n, 0);
  for (int i = 0; i < n; i++) inv[static_cast<size_t>(i) * n + i] = 1;
  auto at = [n](std::vector<uint8_t>& v, int r, int c) -> uint8_t& { return v[static_cast<size_t>(r) * n + c]; };
  for (int col = 0; col < n; col++) {
    int pivot = col;
    while (pivot < n && at(a, pivot, col) == 0) pivot++;
    if (pivot == n) return false;
    if (pivot != col) {
      for (int c = 0; c < n; c++) {
        std::swap(at(a, pivot, c), at(a, col, c));
        std::swap(at(inv, pivot, c), at(inv, col, c));
      }
    }
    const uint8_t scale = Inv(at(a, col, col));
    for (int c = 0; c < n; c++) {
      at(a, col, c) = Mul(at(a, col, c), scale);
      at(inv, col, c) = Mul(at(inv, col, c), scale);
    }
    for (int r = 0; r < n; r++) {
      if (r == col) continue;
      const uint8_t factor = at(a, r, col);
      if (factor == 0) continue;
      for (int c = 0; c < n; c++) {
        at(a, r, c) ^= Mul(factor, at(a, col, c));
        at(inv, r, c) ^= Mul(factor, at(inv, col, c));
      }
    }
  }
  a.swap(inv);
  return true;
}

CoefTables MakeTables(const uint8_t* coef, int rows, int k) {
  SV_ASSERT(rows >= 0 && k >= 1);
  CoefTables t;
  t.rows = rows;
  t.k = k;
  const size_t count = static_cast<size_t>(rows) * k;
  t.coef.assign(coef, coef + count);
  t.split.resize(count * 32);
  t.gfni.resize(count);
  for (size_t i = 0; i < count; i++) {
    const uint8_t c = coef[i];
    uint8_t* s = &t.split[i * 32];
    for (int x = 0; x < 16; x++) {
      s[x] = Mul(c, static_cast<uint8_t>(x));
      s[16 + x] = Mul(c, static_cast<uint8_t>(x << 4));
    }
    // vgf2p8affineqb computes result bit b as parity(A.byte[7 - b] AND x). Row b of "multiply by c" has
    // input bit j set when bit b of c * 2^j is set.
    uint64_t matrix = 0;
    for (int b = 0; b < 8; b++) {
      uint64_t row = 0;
      for (int j = 0; j < 8; j++) {
        if ((Mul(c, static_cast<uint8_t>(1u << j)) >> b) & 1) row |= 1ull << j;
      }
      matrix |= row << (8 * (7 - b));
    }
    t.gfni[i] = matrix;
  }
  return t;
}

}  // namespace sv::gf
