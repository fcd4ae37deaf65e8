// Chooses the codec kernel once per process (cpuid + xgetbv on x86-64, getauxval on aarch64). Tests and
// benchmarks may force one with SHARDVAULT_KERNEL or the API option `kernel`; forcing a kernel the CPU or
// this build lacks is an error, never a silent fallback.
#pragma once

#include <cstdint>
#include <string>

#include "ec/ec_kernels.h"

namespace sv::ec {

const char* KernelName(Kernel kernel);
bool KernelFromName(const std::string& name, Kernel* out);
bool KernelSupported(Kernel kernel);
// Fastest supported kernel on this CPU (measured order: gfni512 > avx512 > gfni256 > avx2 > scalar on Zen 5).
Kernel BestKernel();
// The kernel codecs get when none is requested: SHARDVAULT_KERNEL if set (validated), else BestKernel().
// Returns false with `err` set when the variable names an unknown or unsupported kernel.
bool DefaultKernel(Kernel* out, std::string* err);
// A kernel requested by name (the API option): false with `err` set when unknown or unsupported here.
bool ResolveKernel(const std::string& name, Kernel* out, std::string* err);
DotFn KernelFn(Kernel kernel);

}  // namespace sv::ec
