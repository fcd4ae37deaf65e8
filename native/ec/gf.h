// GF(2^8) arithmetic over the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D), the field of ISA-L and of most
// Reed-Solomon storage codes. Matrix helpers build the systematic Cauchy generator exactly like ISA-L's
// gf_gen_cauchy1_matrix so that parity bytes equal ISA-L's ec_encode_data for the same k, m and data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sv::gf {

uint8_t Mul(uint8_t a, uint8_t b);
uint8_t Inv(uint8_t a);  // a != 0

// (k + m) x k row-major generator: identity on top, then rows i = k..k+m-1 with entries 1 / (i XOR j).
// N.B. Changing this matrix changes every stored parity byte.
std::vector<uint8_t> CauchyGenerator(int k, int m);

// Inverts the n x n matrix `a` in place. Returns false if it is singular (it never is for a square
// sub-matrix of a Cauchy generator, but the result is checked anyway: ISA-L issue #10).
bool Invert(std::vector<uint8_t>& a, int n);

// Coefficient tables for a rows x k matrix, in every layout a kernel may want. Built once per codec
// (encode) or per erasure pattern (decode) and shared read-only between threads.
struct CoefTables {
  int rows = 0;
  int k = 0;
  std::vector<uint8_t> coef;   // rows * k coefficients, row-major
  std::vector<uint8_t> split;  // 32 B per coefficient: c*{0..15} then c*{0,16,..,240} (ISA-L ec_init_tables)
  std::vector<uint64_t> gfni;  // one 8x8 bit matrix per coefficient, in vgf2p8affineqb operand order
};

CoefTables MakeTables(const uint8_t* coef, int rows, int k);

}  // namespace sv::gf
