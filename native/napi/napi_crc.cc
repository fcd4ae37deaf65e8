// N-API surface of the CRCs (native/crc). lib/checksum.ts validates at the edge; types, ranges and kernel
// names are re-checked here. All run synchronously on the calling thread: at tens of GB/s even a 1 MiB chunk
// takes tens of microseconds, less than a trip to the libuv pool.
//   crcKernels() -> { supported, chosen, best, error? }
//   crc32(data, prev?, kernel?) -> number      crc32c(data, prev?, kernel?) -> number
//   crc64nvme(data, prev?, kernel?) -> bigint  (prev: bigint)
// prev is the finished CRC of the bytes before `data` (0 or absent: a new message), as in zlib's crc32().
#include <napi.h>

#include <cmath>
#include <string>

#include "crc/crc.h"
#include "napi/napi_error.h"
#include "napi/napi_exports.h"

namespace sv {
namespace {

bool GetKernel(Napi::Env env, Napi::Value v, crc::Kernel* out) {
  std::string err;
  if (v.IsUndefined() || v.IsNull()) {
    if (!crc::DefaultKernel(out, &err)) {
      Throw(env, "ERR_SV_KERNEL_UNAVAILABLE", err);
      return false;
    }
    *out = crc::ActiveKernel();
    return true;
  }
  if (!v.IsString()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", "kernel must be a string", ErrorKind::kType);
    return false;
  }
  if (!crc::ResolveKernel(v.As<Napi::String>().Utf8Value(), out, &err)) {
    Throw(env, "ERR_SV_KERNEL_UNAVAILABLE", err);
    return false;
  }
  return true;
}

bool GetPrev32(Napi::Env env, Napi::Value v, uint32_t* out) {
  *out = 0;
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsNumber()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", "prev must be a number (a CRC32 value)", ErrorKind::kType);
    return false;
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || std::floor(d) != d) {
    Throw(env, "ERR_SV_OUT_OF_RANGE", "prev must be an integer in [0, 2^32 - 1]", ErrorKind::kRange);
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

bool GetPrev64(Napi::Env env, Napi::Value v, uint64_t* out) {
  *out = 0;
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsBigInt()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", "prev must be a bigint (a CRC64 value)", ErrorKind::kType);
    return false;
  }
  bool lossless = false;
  *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) {
    Throw(env, "ERR_SV_OUT_OF_RANGE", "prev must be a bigint in [0, 2^64 - 1]", ErrorKind::kRange);
    return false;
  }
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

}  // namespace

void InitCrc(Napi::Env env, Napi::Object exports) {
  exports.Set("crcKernels", Napi::Function::New(env, Kernels, "crcKernels"));
  exports.Set("crc32", Napi::Function::New(env, Crc32Like<crc::Crc32>, "crc32"));
  exports.Set("crc32c", Napi::Function::New(env, Crc32Like<crc::Crc32c>, "crc32c"));
  exports.Set("crc64nvme", Napi::Function::New(env, Crc64, "crc64nvme"));
}

}  // namespace sv
