// The fused stripe operation the engine's write path calls: one thread-pool job encodes a batch of stripes
// and hashes every data and parity block (BLAKE3) right after its stripe was encoded, while the stripe is
// still in cache, returning the fingerprint vectors (k + m digests per stripe).
//   stripeEncodeHash(codecHandle, stripes: Uint8Array[k+m][]) -> Promise<Buffer(stripes * (k+m) * 32)>
#include <napi.h>

#include <memory>
#include <vector>

#include "blake3/blake3.h"
#include "ec/ec_codec.h"
#include "napi/napi_codec.h"
#include "napi/napi_error.h"
#include "napi/napi_exports.h"

namespace sv {

namespace {

class StripeWorker : public Napi::AsyncWorker {
 public:
  StripeWorker(Napi::Env env, std::shared_ptr<ec::Codec> codec)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), codec_(std::move(codec)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  std::vector<std::vector<uint8_t*>> stripes;
  size_t len = 0;
  std::vector<Napi::Reference<Napi::Value>> refs;

  void Execute() override {
    const int n = codec_->k() + codec_->m();
    out_.resize(stripes.size() * n * blake3::kOutBytes);
    for (size_t s = 0; s < stripes.size(); s++) {
      codec_->Encode(stripes[s].data(), stripes[s].data() + codec_->k(), len);
      for (int i = 0; i < n; i++) blake3::Hash(stripes[s][i], len, &out_[(s * n + i) * blake3::kOutBytes]);
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(Env(), out_.data(), out_.size())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ec::Codec> codec_;
  std::vector<uint8_t> out_;
};

Napi::Value StripeEncodeHash(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<ec::Codec> codec = CodecFromHandle(env, info[0]);
  if (!codec) return env.Undefined();
  auto* worker = new StripeWorker(env, codec);
  if (!CollectStripes(env, *codec, info[1], &worker->stripes, &worker->len, &worker->refs)) {
    delete worker;
    return env.Undefined();
  }
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace

void InitStripe(Napi::Env env, Napi::Object exports) {
  exports.Set("stripeEncodeHash", Napi::Function::New(env, StripeEncodeHash, "stripeEncodeHash"));
}

}  // namespace sv
