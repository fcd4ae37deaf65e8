// CPU features that the kernel dispatchers (ec_dispatch.cc, blake3_dispatch.cc) need, read once per process
// from cpuid + xgetbv (the OS must save the wider registers too) on x86-64 and getauxval on aarch64.
#pragma once

namespace sv {

struct CpuFeatures {
  bool sse41 = false;
  bool avx2 = false;     // AVX2 with OS ymm state
  bool avx512 = false;   // AVX-512 F + BW + VL with OS zmm state
  bool gfni = false;
  bool neon = false;
};

const CpuFeatures& Cpu();

}  // namespace sv
