// Chooses the BLAKE3 hash_many kernel once per process; SHARDVAULT_BLAKE3_KERNEL forces one for tests and
// benchmarks (an unknown or unsupported name is reported, never silently replaced, by the binding).
#include <cstdlib>
#include <cstring>

#include "blake3_impl.h"
#include "cpu_features.h"
#include "sv_assert.h"


namespace sv::blake3 {
namespace {

const char* const kNames[] = {"portable", "sse41", "avx2", "avx512", "neon"};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<int>(Kernel::kCount), "one name per kernel");

uint32_t Detect() {
  const CpuFeatures& cpu = Cpu();
  uint32_t mask = 1u << static_cast<int>(Kernel::kPortable);
  if (cpu.sse41) mask |= 1u << static_cast<int>(Kernel::kSse41);
  if (cpu.avx2) mask |= 1u << static_cast<int>(Kernel::kAvx2);
  if (cpu.avx512) mask |= 1u << static_cast<int>(Kernel::kAvx512);
  if (cpu.neon) mask |= 1u << static_cast<int>(Kernel::kNeon);
  return mask;
}

uint32_t Mask() {
  static const uint32_t mask = Detect();
  return mask;
}

}  // namespace

const char* KernelName(Kernel k) {
  const int i = static_cast<int>(k);
  SV_ASSERT(i >= 0 && i < static_cast<int>(Kernel::kCount));
  return kNames[i];
}

bool KernelFromName(const char* name, Kernel* out) {
  for (int i = 0; i < static_cast<int>(Kernel::kCount); i++) {
    if (std::strcmp(name, kNames[i]) == 0) {
      *out = static_cast<Kernel>(i);
      return true;
    }
  }
  return false;
}

bool KernelSupported(Kernel k) { return (Mask() >> static_cast<int>(k)) & 1; }

Kernel BestKernel() {
  const Kernel order[] = {Kernel::kAvx512, Kernel::kAvx2, Kernel::kSse41, Kernel::kNeon};
  for (Kernel k : order) {
    if (KernelSupported(k)) return k;
  }
  return Kernel::kPortable;
}

bool DefaultKernel(Kernel* out, const char** err) {
  const char* forced = std::getenv("SHARDVAULT_BLAKE3_KERNEL");
  if (forced == nullptr || forced[0] == '\0') {
    *out = BestKernel();
    return true;
  }
  Kernel k;
  if (!KernelFromName(forced, &k)) {
    *err = "SHARDVAULT_BLAKE3_KERNEL names an unknown kernel (portable|sse41|avx2|avx512|neon)";
    return false;
  }
  if (!KernelSupported(k)) {
    *err = "SHARDVAULT_BLAKE3_KERNEL names a kernel this CPU or build does not support";
    return false;
  }
  *out = k;
  return true;
}

Kernel ActiveKernel() {
  static const Kernel active = [] {
    Kernel k;
    const char* err = nullptr;
    return DefaultKernel(&k, &err) ? k : Kernel::kPortable;
  }();
  return active;
}

HashManyFn KernelFn(Kernel k) {
  SV_ASSERT(KernelSupported(k));
  switch (k) {
    case Kernel::kPortable: return HashManyPortable;
#if defined(__x86_64__)
    case Kernel::kSse41: return HashManySse41;
    case Kernel::kAvx2: return HashManyAvx2;
    case Kernel::kAvx512: return HashManyAvx512;
#endif
#if defined(__aarch64__)
    case Kernel::kNeon: return HashManyNeon;
#endif
    default: break;
  }
  SV_ASSERT(false && "supported kernel without a function");
  return HashManyPortable;
}

CompressFn KernelCompressFn(Kernel k) {
  SV_ASSERT(KernelSupported(k));
  switch (k) {
#if defined(__x86_64__)
    case Kernel::kSse41:
    case Kernel::kAvx2: return CompressCvSse41;
    case Kernel::kAvx512: return CompressCvAvx512;
#endif
    default: return CompressCvPortable;
  }
}

size_t KernelDegree(Kernel k) {
  switch (k) {
    case Kernel::kSse41: return 4;
    case Kernel::kAvx2: return 8;
    case Kernel::kAvx512: return 16;
    case Kernel::kNeon: return 4;
    default: return 1;
  }
}

}  // namespace sv::blake3
