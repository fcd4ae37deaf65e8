#include "ec_dispatch.h"

#include <cstdlib>

#include "cpu_features.h"
#include "sv_assert.h"


namespace sv::ec {
namespace {

const char* const kNames[] = {"scalar", "avx2", "avx512", "gfni256", "gfni512", "neon"};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<int>(Kernel::kCount), "one name per kernel");

uint32_t DetectMask() {
  const CpuFeatures& cpu = Cpu();
  uint32_t mask = 1u << static_cast<int>(Kernel::kScalar);
  if (cpu.avx2) mask |= 1u << static_cast<int>(Kernel::kAvx2);
  if (cpu.avx2 && cpu.gfni) mask |= 1u << static_cast<int>(Kernel::kGfni256);
  if (cpu.avx512) mask |= 1u << static_cast<int>(Kernel::kAvx512);
  if (cpu.avx512 && cpu.gfni) mask |= 1u << static_cast<int>(Kernel::kGfni512);
  if (cpu.neon) mask |= 1u << static_cast<int>(Kernel::kNeon);
  return mask;
}

uint32_t Mask() {
  static const uint32_t mask = DetectMask();
  return mask;
}

}  // namespace

const char* KernelName(Kernel kernel) {
  const int i = static_cast<int>(kernel);
  SV_ASSERT(i >= 0 && i < static_cast<int>(Kernel::kCount));
  return kNames[i];
}

bool KernelFromName(const std::string& name, Kernel* out) {
  for (int i = 0; i < static_cast<int>(Kernel::kCount); i++) {
    if (name == kNames[i]) {
      *out = static_cast<Kernel>(i);
      return true;
    }
  }
  return false;
}

bool KernelSupported(Kernel kernel) { return (Mask() >> static_cast<int>(kernel)) & 1; }

Kernel BestKernel() {
  const Kernel order[] = {Kernel::kGfni512, Kernel::kAvx512, Kernel::kGfni256, Kernel::kAvx2, Kernel::kNeon};
  for (Kernel k : order) {
    if (KernelSupported(k)) return k;
  }
  return Kernel::kScalar;
}

bool DefaultKernel(Kernel* out, std::string* err) {
  const char* forced = std::getenv("SHARDVAULT_KERNEL");
  if (forced == nullptr || forced[0] == '\0') {
    *out = BestKernel();
    return true;
  }
  Kernel k;
  if (!KernelFromName(forced, &k)) {
    *err = std::string("SHARDVAULT_KERNEL=") + forced + " is not a kernel (scalar|avx2|avx512|gfni256|gfni512|neon)";
    return false;
  }
  if (!KernelSupported(k)) {
    *err = std::string("SHARDVAULT_KERNEL=") + forced + " is not supported by this CPU or build";
    return false;
  }
  *out = k;
  return true;
}

DotFn KernelFn(Kernel kernel) {
  SV_ASSERT(KernelSupported(kernel));
  switch (kernel) {
    case Kernel::kScalar: return DotScalar;
#if defined(__x86_64__)
    case Kernel::kAvx2: return DotAvx2;
    case Kernel::kAvx512: return DotAvx512;
    case Kernel::kGfni256: return DotGfni256;
    case Kernel::kGfni512: return DotGfni512;
#endif
#if defined(__aarch64__)
    case Kernel::kNeon: return DotNeon;
#endif
    default: break;
  }
  SV_ASSERT(false && "supported kernel without a function");
  return DotScalar;
}

}  // namespace sv::ec
