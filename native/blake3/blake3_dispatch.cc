// Chooses the BLAKE3 hash_many kernel once per process; SHARDVAULT_BLAKE3_KERNEL forces one for tests and
// benchmarks (an unknown or unsupported name is reported, never silently replaced, by the binding).
#include <string>

#include "blake3/blake3_impl.h"
#include "common/cpu_features.h"
#include "common/kernel_select.h"
#include "common/sv_assert.h"


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

const KernelFamily& Family() {
  static const int kOrder[] = {static_cast<int>(Kernel::kAvx512), static_cast<int>(Kernel::kAvx2),
                               static_cast<int>(Kernel::kSse41), static_cast<int>(Kernel::kNeon)};
  static const KernelFamily family{"BLAKE3", "SHARDVAULT_BLAKE3_KERNEL", kNames, static_cast<int>(Kernel::kCount),
                                   Detect(), kOrder, static_cast<int>(sizeof(kOrder) / sizeof(kOrder[0])),
                                   static_cast<int>(Kernel::kPortable)};
  return family;
}

}  // namespace

const char* KernelName(Kernel k) {
  const int i = static_cast<int>(k);
  SV_ASSERT(i >= 0 && i < static_cast<int>(Kernel::kCount));
  return kNames[i];
}

bool KernelFromName(const std::string& name, Kernel* out) { return KernelByName(Family(), name, out); }

bool KernelSupported(Kernel k) { return (Family().supported >> static_cast<int>(k)) & 1u; }

Kernel BestKernel() { return static_cast<Kernel>(BestKernelIndex(Family())); }

bool ResolveKernel(const std::string& name, Kernel* out, std::string* err) {
  return ResolveKernelAs(Family(), name, "BLAKE3 kernel", out, err);
}

bool DefaultKernel(Kernel* out, std::string* err) { return DefaultKernelAs(Family(), out, err); }

Kernel ActiveKernel() {
  static const Kernel active = [] {
    Kernel k;
    std::string err;
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
