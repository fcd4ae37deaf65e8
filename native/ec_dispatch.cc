#include "ec_dispatch.h"

#include <cstdlib>

#include "sv_assert.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace sv::ec {
namespace {

const char* const kNames[] = {"scalar", "avx2", "avx512", "gfni256", "gfni512", "neon"};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<int>(Kernel::kCount), "one name per kernel");

#if defined(__x86_64__)
uint64_t Xgetbv() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}
#endif

uint32_t DetectMask() {
  uint32_t mask = 1u << static_cast<int>(Kernel::kScalar);
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return mask;
  const bool osxsave = (c >> 27) & 1;
  if (!osxsave) return mask;
  const uint64_t xcr0 = Xgetbv();
  const bool ymmState = (xcr0 & 0x6) == 0x6;
  const bool zmmState = (xcr0 & 0xE6) == 0xE6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return mask;
  const bool avx2 = (b >> 5) & 1;
  const bool avx512f = (b >> 16) & 1;
  const bool avx512bw = (b >> 30) & 1;
  const bool avx512vl = (b >> 31) & 1;
  const bool gfni = (c >> 8) & 1;
  if (ymmState && avx2) {
    mask |= 1u << static_cast<int>(Kernel::kAvx2);
    if (gfni) mask |= 1u << static_cast<int>(Kernel::kGfni256);
  }
  if (zmmState && avx2 && avx512f && avx512bw && avx512vl) {
    mask |= 1u << static_cast<int>(Kernel::kAvx512);
    if (gfni) mask |= 1u << static_cast<int>(Kernel::kGfni512);
  }
#endif
#if defined(__aarch64__)
  if (getauxval(AT_HWCAP) & HWCAP_ASIMD) mask |= 1u << static_cast<int>(Kernel::kNeon);
#endif
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
