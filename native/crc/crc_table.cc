// The portable kernel (slicing-by-8, the reference every other kernel is tested against) and the folding
// constants, both derived from each CRC's polynomial when first used.
#include <array>

#include "crc/crc_impl.h"

namespace sv::crc {
namespace {

// Normal-form polynomials (without the x^W term) and widths, as in the CRC catalogue.
struct Params {
  int width;
  uint64_t poly;
};
constexpr Params kParams[] = {
    {32, 0x04C11DB7u},              // CRC-32/ISO-HDLC
    {32, 0x1EDC6F41u},              // CRC-32/ISCSI (CRC32C)
    {64, 0xAD93D23594C93659ull},    // CRC-64/NVME
};

uint64_t Reflect(uint64_t v, int bits) {
  uint64_t r = 0;
  for (int i = 0; i < bits; i++) r |= ((v >> i) & 1u) << (bits - 1 - i);
  return r;
}

struct Tables {
  uint64_t t[8][256];
};

Tables MakeTables(const Params& p) {
  Tables tb;
  const uint64_t rpoly = Reflect(p.poly, p.width);
  for (uint64_t i = 0; i < 256; i++) {
    uint64_t c = i;
    for (int b = 0; b < 8; b++) c = (c & 1) ? (c >> 1) ^ rpoly : c >> 1;
    tb.t[0][i] = c;
  }
  for (int s = 1; s < 8; s++) {
    for (int i = 0; i < 256; i++) tb.t[s][i] = (tb.t[s - 1][i] >> 8) ^ tb.t[0][tb.t[s - 1][i] & 0xff];
  }
  return tb;
}

const Tables& TablesFor(Algo a) {
  static const std::array<Tables, 3> all = {MakeTables(kParams[0]), MakeTables(kParams[1]), MakeTables(kParams[2])};
  return all[static_cast<int>(a)];
}

// A 64-bit register serves both widths: for W = 32 the tables hold 32-bit values and the register's high half
// stays zero, because each step only shifts right and xors table entries in.
uint64_t Slice8(const Tables& tb, uint64_t reg, const uint8_t* p, size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    reg = (reg >> 8) ^ tb.t[0][(reg ^ *p++) & 0xff];
    n--;
  }
  while (n >= 8) {
    const uint64_t v = Load64(p) ^ reg;
    reg = tb.t[7][v & 0xff] ^ tb.t[6][(v >> 8) & 0xff] ^ tb.t[5][(v >> 16) & 0xff] ^ tb.t[4][(v >> 24) & 0xff] ^
          tb.t[3][(v >> 32) & 0xff] ^ tb.t[2][(v >> 40) & 0xff] ^ tb.t[1][(v >> 48) & 0xff] ^ tb.t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) reg = (reg >> 8) ^ tb.t[0][(reg ^ *p++) & 0xff];
  return reg;
}

// x^n mod P in normal form (coefficient of x^i in bit i), by repeated multiplication by x.
uint64_t XPowMod(const Params& p, uint64_t n) {
  const uint64_t top = 1ull << (p.width - 1);
  const uint64_t mask = p.width == 64 ? ~0ull : (1ull << p.width) - 1;
  uint64_t r = 1;
  for (uint64_t i = 0; i < n; i++) {
    const bool carry = (r & top) != 0;
    r = (r << 1) & mask;
    if (carry) r ^= p.poly;
  }
  return r;
}

FoldConstants MakeConstants(const Params& p) {
  FoldConstants c{};
  for (int j = 1; j <= kFoldMax; j++) {
    const uint64_t d = 128ull * j;
    c.k[j][0] = Reflect(XPowMod(p, d + 63), 64);
    c.k[j][1] = Reflect(XPowMod(p, d - 1), 64);
  }
  if (p.width == 32) {
    for (int i = 0; i < 2; i++) c.shift32[i] = Reflect(XPowMod(p, 8 * kShiftBytes[i] - 33), 32);
  }
  return c;
}

// a * b mod P for reflected operands of `width` bits (bit width - 1 is the coefficient of x^0).
uint64_t MulMod(uint64_t a, uint64_t b, const Params& p, uint64_t rpoly) {
  uint64_t prod = 0;
  for (int i = p.width - 1; i >= 0; i--) {
    if ((a >> i) & 1) prod ^= b;
    b = (b & 1) ? (b >> 1) ^ rpoly : b >> 1;  // b *= x
  }
  return prod;
}

struct CombineTables {
  uint64_t rpoly;
  uint64_t xpow2[128];  // x^(2^k) mod P, reflected
};

CombineTables MakeCombine(const Params& p) {
  CombineTables t{};
  t.rpoly = Reflect(p.poly, p.width);
  t.xpow2[0] = 1ull << (p.width - 2);  // x^1
  for (int k = 1; k < 128; k++) t.xpow2[k] = MulMod(t.xpow2[k - 1], t.xpow2[k - 1], p, t.rpoly);
  return t;
}

}  // namespace

uint64_t Combine(Algo a, uint64_t crcA, uint64_t crcB, uint64_t lenB) {
  static const std::array<CombineTables, 3> all = {MakeCombine(kParams[0]), MakeCombine(kParams[1]),
                                                   MakeCombine(kParams[2])};
  const int i = static_cast<int>(a);
  const Params& p = kParams[i];
  const CombineTables& t = all[i];
  // x^(8 * lenB) mod P by square-and-multiply over the bits of lenB (x^8 = x^(2^3)).
  uint64_t shift = 1ull << (p.width - 1);  // x^0
  for (int k = 3; lenB != 0; k++, lenB >>= 1) {
    if (lenB & 1) shift = MulMod(t.xpow2[k], shift, p, t.rpoly);
  }
  return MulMod(shift, crcA, p, t.rpoly) ^ crcB;
}

const FoldConstants& Constants(Algo a) {
  static const std::array<FoldConstants, 3> all = {MakeConstants(kParams[0]), MakeConstants(kParams[1]),
                                                   MakeConstants(kParams[2])};
  return all[static_cast<int>(a)];
}

uint64_t TableCrc32(uint64_t reg, const uint8_t* data, size_t len) {
  return Slice8(TablesFor(Algo::kCrc32), reg, data, len);
}
uint64_t TableCrc32c(uint64_t reg, const uint8_t* data, size_t len) {
  return Slice8(TablesFor(Algo::kCrc32c), reg, data, len);
}
uint64_t TableCrc64(uint64_t reg, const uint8_t* data, size_t len) {
  return Slice8(TablesFor(Algo::kCrc64Nvme), reg, data, len);
}

}  // namespace sv::crc
