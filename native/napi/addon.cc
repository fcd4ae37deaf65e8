// Addon entry point: registers each concern's functions. Methods live in napi_codec.cc, napi_blake3.cc,
// napi_io.cc, napi_stripe.cc and napi_crc.cc; the kernels they call know nothing of N-API.
#include <napi.h>

#include "common/limits.h"
#include "napi/napi_exports.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("SHARD_COUNT_TOTAL_MAX", Napi::Number::New(env, sv::kShardCountTotalMax));
  exports.Set("SHARD_SIZE_BYTES_MAX", Napi::Number::New(env, static_cast<double>(sv::kShardSizeBytesMax)));
  exports.Set("BLAKE3_OUT_BYTES", Napi::Number::New(env, static_cast<double>(sv::kBlake3OutBytes)));
  sv::InitCodec(env, exports);
  sv::InitBlake3(env, exports);
  sv::InitIo(env, exports);
  sv::InitStripe(env, exports);
  sv::InitCrc(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(shardvault, Init)
