#include "ec/ec_dispatch.h"

#include "common/cpu_features.h"
#include "common/kernel_select.h"
#include "common/sv_assert.h"


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

const KernelFamily& Family() {
  // Measured order: gfni512 > avx512 > gfni256 > avx2 > scalar on Zen 5.
  static const int kOrder[] = {static_cast<int>(Kernel::kGfni512), static_cast<int>(Kernel::kAvx512),
                               static_cast<int>(Kernel::kGfni256), static_cast<int>(Kernel::kAvx2),
                               static_cast<int>(Kernel::kNeon)};
  static const KernelFamily family{"codec",  "SHARDVAULT_KERNEL", kNames, static_cast<int>(Kernel::kCount),
                                   DetectMask(), kOrder, static_cast<int>(sizeof(kOrder) / sizeof(kOrder[0])),
                                   static_cast<int>(Kernel::kScalar)};
  return family;
}

}  // namespace

const char* KernelName(Kernel kernel) {
  const int i = static_cast<int>(kernel);
  SV_ASSERT(i >= 0 && i < static_cast<int>(Kernel::kCount));
  return kNames[i];
}

bool KernelFromName(const std::string& name, Kernel* out) { return KernelByName(Family(), name, out); }

bool KernelSupported(Kernel kernel) { return (Family().supported >> static_cast<int>(kernel)) & 1u; }

Kernel BestKernel() { return static_cast<Kernel>(BestKernelIndex(Family())); }

bool ResolveKernel(const std::string& name, Kernel* out, std::string* err) {
  return ResolveKernelAs(Family(), name, "kernel", out, err);
}

bool DefaultKernel(Kernel* out, std::string* err) { return DefaultKernelAs(Family(), out, err); }

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
