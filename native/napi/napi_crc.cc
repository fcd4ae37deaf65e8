// N-API surface of the CRCs (native/crc). lib/checksum.ts validates at the edge; types, ranges and kernel
// names are re-checked here. All run synchronously on the calling thread: at tens of GB/s even a 1 MiB chunk
// takes tens of microseconds, less than a trip to the libuv pool.
//   crcKernels() -> { supported, chosen, best, error? }
//   crc32(data, prev?, kernel?) -> number      crc32c(data, prev?, kernel?) -> number
//   crc64nvme(data, prev?, kernel?) -> bigint  (prev: bigint)
//   crc32Combine(a, b, lenB) -> number   crc32cCombine(a, b, lenB) -> number
//   crc64nvmeCombine(a, b, lenB) -> bigint   (a, b: bigint)
// prev is the finished CRC of the bytes before `data` (0 or absent: a new message), as in zlib's crc32().
// Combine: the CRC of A then B from crc(A), crc(B) and B's length (zlib's crc32_combine).
#include <napi.h>

#include <cmath>
#include <string>

#include "crc/crc.h"
#include "napi/napi_error.h"
#include "napi/napi_exports.h"

namespace sv {
namespace {

// SHARDVAULT_CRC_KERNEL is read once, at first use (as the other families read theirs at load): a call
// without a kernel then costs no getenv or string work.
struct DefaultState {
  bool ok;
  crc::Kernel kernel;
  std::string err;
};

const DefaultState& Default() {
  static const DefaultState state = [] {
    DefaultState s{true, crc::Kernel::kTable, {}};
    crc::Kernel k;
    s.ok = crc::DefaultKernel(&k, &s.err);
    s.kernel = s.ok ? crc::ActiveKernel() : crc::Kernel::kTable;
    return s;
  }();
  return state;
}

bool GetKernel(Napi::Env env, Napi::Value v, crc::Kernel* out) {
  if (v.IsUndefined() || v.IsNull()) {
    const DefaultState& d = Default();
    if (!d.ok) {
      Throw(env, "ERR_SV_KERNEL_UNAVAILABLE", d.err);
      return false;
    }
    *out = d.kernel;
    return true;
  }
  if (!v.IsString()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", "kernel must be a string", ErrorKind::kType);
    return false;
  }
  // Kernel names are short: read into a stack buffer (a longer value is cut, and then unknown by name).
  char buf[32];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof(buf), &n) != napi_ok) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", "kernel must be a string", ErrorKind::kType);
    return false;
  }
  std::string err;
  if (!crc::ResolveKernel(std::string(buf, n), out, &err)) {
    Throw(env, "ERR_SV_KERNEL_UNAVAILABLE", err);
    return false;
  }
  return true;
}

// A CRC32 value: absent (0, when `optional`) or an integer number in [0, 2^32 - 1].
bool GetCrc32Value(Napi::Env env, Napi::Value v, const char* name, bool optional, uint32_t* out) {
  *out = 0;
  if (optional && (v.IsUndefined() || v.IsNull())) return true;
  if (!v.IsNumber()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", std::string(name) + " must be a number (a CRC32 value)", ErrorKind::kType);
    return false;
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || std::floor(d) != d) {
    Throw(env, "ERR_SV_OUT_OF_RANGE", std::string(name) + " must be an integer in [0, 2^32 - 1]", ErrorKind::kRange);
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

// A CRC64 value: absent (0, when `optional`) or a bigint in [0, 2^64 - 1].
bool GetCrc64Value(Napi::Env env, Napi::Value v, const char* name, bool optional, uint64_t* out) {
  *out = 0;
  if (optional && (v.IsUndefined() || v.IsNull())) return true;
  if (!v.IsBigInt()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", std::string(name) + " must be a bigint (a CRC64 value)", ErrorKind::kType);
    return false;
  }
  bool lossless = false;
  *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) {
    Throw(env, "ERR_SV_OUT_OF_RANGE", std::string(name) + " must be a bigint in [0, 2^64 - 1]", ErrorKind::kRange);
    return false;
  }
  return true;
}

bool GetPrev32(Napi::Env env, Napi::Value v, uint32_t* out) { return GetCrc32Value(env, v, "prev", true, out); }
bool GetPrev64(Napi::Env env, Napi::Value v, uint64_t* out) { return GetCrc64Value(env, v, "prev", true, out); }

// A byte count: an integer number in [0, 2^53 - 1].
bool GetLength(Napi::Env env, Napi::Value v, uint64_t* out) {
  if (!v.IsNumber()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", "length must be a number", ErrorKind::kType);
    return false;
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) {
    Throw(env, "ERR_SV_OUT_OF_RANGE", "length must be an integer in [0, 2^53 - 1]", ErrorKind::kRange);
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

Napi::Value Kernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array supported = Napi::Array::New(env);
  uint32_t n = 0;
  for (int i = 0; i < static_cast<int>(crc::Kernel::kCount); i++) {
    const crc::Kernel k = static_cast<crc::Kernel>(i);
    if (crc::KernelSupported(k)) supported.Set(n++, crc::KernelName(k));
  }
  out.Set("supported", supported);
  out.Set("best", crc::KernelName(crc::BestKernel()));
  out.Set("chosen", crc::KernelName(crc::ActiveKernel()));
  crc::Kernel k;
  std::string err;
  if (!crc::DefaultKernel(&k, &err)) out.Set("error", err);
  return out;
}

template <uint32_t (*F)(uint32_t, const uint8_t*, size_t, crc::Kernel)>
Napi::Value Crc32Like(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data;
  size_t len;
  uint32_t prev;
  crc::Kernel k;
  if (!GetBytes(env, info[0], "data", &data, &len) || !GetPrev32(env, info[1], &prev) || !GetKernel(env, info[2], &k)) {
    return env.Undefined();
  }
  return Napi::Number::New(env, F(prev, data, len, k));
}

Napi::Value Crc64(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data;
  size_t len;
  uint64_t prev;
  crc::Kernel k;
  if (!GetBytes(env, info[0], "data", &data, &len) || !GetPrev64(env, info[1], &prev) || !GetKernel(env, info[2], &k)) {
    return env.Undefined();
  }
  return Napi::BigInt::New(env, crc::Crc64Nvme(prev, data, len, k));
}

template <crc::Algo A>
Napi::Value Combine32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t a, b;
  uint64_t len;
  if (!GetCrc32Value(env, info[0], "crcA", false, &a) || !GetCrc32Value(env, info[1], "crcB", false, &b) ||
      !GetLength(env, info[2], &len)) {
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<uint32_t>(crc::Combine(A, a, b, len)));
}

Napi::Value Combine64(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t a, b, len;
  if (!GetCrc64Value(env, info[0], "crcA", false, &a) || !GetCrc64Value(env, info[1], "crcB", false, &b) ||
      !GetLength(env, info[2], &len)) {
    return env.Undefined();
  }
  return Napi::BigInt::New(env, crc::Combine(crc::Algo::kCrc64Nvme, a, b, len));
}

}  // namespace

void InitCrc(Napi::Env env, Napi::Object exports) {
  exports.Set("crcKernels", Napi::Function::New(env, Kernels, "crcKernels"));
  exports.Set("crc32", Napi::Function::New(env, Crc32Like<crc::Crc32>, "crc32"));
  exports.Set("crc32c", Napi::Function::New(env, Crc32Like<crc::Crc32c>, "crc32c"));
  exports.Set("crc64nvme", Napi::Function::New(env, Crc64, "crc64nvme"));
  exports.Set("crc32Combine", Napi::Function::New(env, Combine32<crc::Algo::kCrc32>, "crc32Combine"));
  exports.Set("crc32cCombine", Napi::Function::New(env, Combine32<crc::Algo::kCrc32c>, "crc32cCombine"));
  exports.Set("crc64nvmeCombine", Napi::Function::New(env, Combine64, "crc64nvmeCombine"));
}

}  // namespace sv
