// Chooses the CRC kernel once per process; SHARDVAULT_CRC_KERNEL forces one for tests and benchmarks (an
// unknown or unsupported name is reported by the binding, never silently replaced). The CPU bits this family
// needs beyond common/cpu_features (PCLMULQDQ, SSE4.2, VPCLMULQDQ; CRC32 and PMULL on aarch64) are read here;
// the OS-state checks (xgetbv) come from Cpu().
#include <array>
#include <string>

#include "common/cpu_features.h"
#include "common/kernel_select.h"
#include "common/sv_assert.h"
#include "crc/crc_impl.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace sv::crc {
namespace {

const char* const kNames[] = {"table", "pclmul", "sse42", "vpclmul256", "vpclmul512", "armcrc", "pmull"};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<int>(Kernel::kCount), "one name per kernel");

constexpr uint32_t Bit(Kernel k) { return 1u << static_cast<int>(k); }

uint32_t Detect() {
  uint32_t mask = Bit(Kernel::kTable);
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    const bool pclmul = (c >> 1) & 1;
    const bool sse42 = (c >> 20) & 1;
    if (pclmul) mask |= Bit(Kernel::kPclmul);
    if (pclmul && sse42) mask |= Bit(Kernel::kSse42);
    const bool vpclmul = pclmul && sse42 && __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((c >> 10) & 1);
    if (vpclmul && Cpu().avx2) mask |= Bit(Kernel::kVpclmul256);
    if (vpclmul && Cpu().avx512) mask |= Bit(Kernel::kVpclmul512);
  }
#endif
#if defined(__aarch64__)
  const unsigned long hw = getauxval(AT_HWCAP);
  if (hw & HWCAP_CRC32) mask |= Bit(Kernel::kArmCrc);
  if ((hw & HWCAP_CRC32) && (hw & HWCAP_PMULL)) mask |= Bit(Kernel::kPmull);
#endif
  return mask;
}

const KernelFamily& Family() {
  static const int kOrder[] = {static_cast<int>(Kernel::kVpclmul512), static_cast<int>(Kernel::kVpclmul256),
                               static_cast<int>(Kernel::kSse42),
                               static_cast<int>(Kernel::kPclmul), static_cast<int>(Kernel::kPmull),
                               static_cast<int>(Kernel::kArmCrc)};
  static const KernelFamily family{"CRC", "SHARDVAULT_CRC_KERNEL", kNames, static_cast<int>(Kernel::kCount),
                                   Detect(), kOrder, static_cast<int>(sizeof(kOrder) / sizeof(kOrder[0])),
                                   static_cast<int>(Kernel::kTable)};
  return family;
}

KernelFns Fns(Kernel k) {
  switch (k) {
    case Kernel::kTable: return {TableCrc32, TableCrc32c, TableCrc64};
#if defined(__x86_64__)
    case Kernel::kPclmul: return PclmulKernel();
    case Kernel::kSse42: return Sse42Kernel();
    case Kernel::kVpclmul256: return Vpclmul256Kernel();
    case Kernel::kVpclmul512: return Vpclmul512Kernel();
#endif
#if defined(__aarch64__)
    case Kernel::kArmCrc: return ArmCrcKernel();
    case Kernel::kPmull: return PmullKernel();
#endif
    default: break;
  }
  SV_ASSERT(false && "supported kernel without functions");
  return {TableCrc32, TableCrc32c, TableCrc64};
}

const KernelFns& FnsFor(Kernel k) {
  static const auto all = [] {
    std::array<KernelFns, static_cast<int>(Kernel::kCount)> fns{};
    for (int i = 0; i < static_cast<int>(Kernel::kCount); i++) {
      const Kernel k = static_cast<Kernel>(i);
      fns[i] = KernelSupported(k) ? Fns(k) : KernelFns{nullptr, nullptr, nullptr};
    }
    return fns;
  }();
  SV_ASSERT(KernelSupported(k));
  return all[static_cast<int>(k)];
}

}  // namespace

const char* KernelName(Kernel k) {
  const int i = static_cast<int>(k);
  SV_ASSERT(i >= 0 && i < static_cast<int>(Kernel::kCount));
  return kNames[i];
}

bool KernelSupported(Kernel k) { return (Family().supported >> static_cast<int>(k)) & 1u; }

Kernel BestKernel() { return static_cast<Kernel>(BestKernelIndex(Family())); }

bool ResolveKernel(const std::string& name, Kernel* out, std::string* err) {
  return ResolveKernelAs(Family(), name, "CRC kernel", out, err);
}

bool DefaultKernel(Kernel* out, std::string* err) { return DefaultKernelAs(Family(), out, err); }

Kernel ActiveKernel() {
  static const Kernel active = [] {
    Kernel k;
    std::string err;
    return DefaultKernel(&k, &err) ? k : Kernel::kTable;
  }();
  return active;
}

uint32_t Crc32(uint32_t prev, const uint8_t* data, size_t len, Kernel k) {
  return ~static_cast<uint32_t>(FnsFor(k).crc32(~prev & 0xffffffffu, data, len));
}

uint32_t Crc32c(uint32_t prev, const uint8_t* data, size_t len, Kernel k) {
  return ~static_cast<uint32_t>(FnsFor(k).crc32c(~prev & 0xffffffffu, data, len));
}

uint64_t Crc64Nvme(uint64_t prev, const uint8_t* data, size_t len, Kernel k) {
  return ~FnsFor(k).crc64(~prev, data, len);
}

}  // namespace sv::crc
