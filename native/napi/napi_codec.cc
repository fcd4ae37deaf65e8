// N-API surface of the Reed-Solomon codec. lib/codec.ts validates at the public edge; this file re-checks
// every count, length and overlap with widened arithmetic because a wrong size here corrupts memory.
//
//   codecKernels() -> { supported: string[], chosen: string, best: string, error?: string }
//   codecCreate(k, m, kernel?) -> handle
//   codecInfo(handle) -> { k, m, kernel, planCacheSize }
//   codecEncodeSync(handle, shards[k+m])
//   codecEncodeAsync(handle, stripes: shards[k+m][]) -> Promise<void>          (one pool hop per batch)
//   codecReconstructSync(handle, shards[k+m], present: boolean[k+m], targets: number[])
//   codecReconstructAsync(handle, stripes: shards[k+m][], present, targets) -> Promise<void>
#include <napi.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "napi/napi_codec.h"
#include "ec/ec_dispatch.h"
#include "common/limits.h"
#include "napi/napi_error.h"
#include "napi/napi_exports.h"
#include "napi/napi_handle.h"
#include "common/sv_assert.h"

namespace sv {
namespace {

using ec::Codec;

struct CodecHandle {
  std::shared_ptr<Codec> codec;
};

}  // namespace

// A decode plan bound to its codec (the plan's tables are only valid for that codec's k).
struct PlanHandle {
  std::shared_ptr<Codec> codec;
  std::shared_ptr<const ec::DecodePlan> plan;
};

template <>
struct HandleTag<PlanHandle> {
  static constexpr napi_type_tag kTag = {0x5a0c4f1d9e3b7a21ULL, 0xc7e2b8d04f6a1935ULL};
};

template <>
struct HandleTag<CodecHandle> {
  static constexpr napi_type_tag kTag = {0xcacf74f0308e68deULL, 0x1b3e4dd7d0dcb221ULL};
};

namespace {

constexpr const char* kInvalidArgType = "ERR_SV_INVALID_ARG_TYPE";
constexpr const char* kOutOfRange = "ERR_SV_OUT_OF_RANGE";
constexpr const char* kShardCount = "ERR_SV_SHARD_COUNT";
constexpr const char* kShardSize = "ERR_SV_SHARD_SIZE_MISMATCH";
constexpr const char* kOverlap = "ERR_SV_SHARD_OVERLAP";
constexpr const char* kTooFew = "ERR_SV_TOO_FEW_SHARDS";
constexpr const char* kBadTargets = "ERR_SV_BAD_TARGETS";
constexpr const char* kKernel = "ERR_SV_KERNEL_UNAVAILABLE";

// Shards of one call (or one batch): pointers per stripe, one common length, and references that keep
// the JS buffers alive while an async job runs.
struct ShardSet {
  size_t shardCount = 0;
  size_t len = 0;
  std::vector<std::vector<uint8_t*>> stripes;
  std::vector<Napi::Reference<Napi::Value>> refs;
};

bool IntArg(Napi::Env env, Napi::Value v, const char* name, int min, int max, int* out) {
  if (!v.IsNumber()) {
    Throw(env, kInvalidArgType, std::string(name) + " must be a number", ErrorKind::kType);
    return false;
  }
  // Parsed as double so NaN, Infinity and fractions are rejected before any cast (ronomon/reed-solomon).
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Throw(env, kOutOfRange, std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                                std::to_string(max) + "]", ErrorKind::kRange);
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

Codec* GetCodec(Napi::Env env, Napi::Value v) {
  CodecHandle* h = GetHandle<CodecHandle>(env, v, "codec");
  return h == nullptr ? nullptr : h->codec.get();
}

// Appends one stripe (an array of `count` Uint8Arrays) to `set`, checking type and equal length.
bool AddStripe(Napi::Env env, Napi::Value v, size_t count, bool keepAlive, ShardSet* set) {
  if (!v.IsArray()) {
    Throw(env, kInvalidArgType, "shards must be an array of Uint8Array", ErrorKind::kType);
    return false;
  }
  Napi::Array arr = v.As<Napi::Array>();
  if (arr.Length() != count) {
    Throw(env, kShardCount, "expected " + std::to_string(count) + " shards, got " + std::to_string(arr.Length()),
          ErrorKind::kRange);
    return false;
  }
  std::vector<uint8_t*> ptrs(count);
  for (uint32_t i = 0; i < count; i++) {
    // Raw N-API: one napi_get_typedarray_info per shard gives type, length and data at once (the wrapper
    // classes re-query it per accessor; this loop dominates the cost of a 4 KiB stripe call).
    napi_value item;
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    bool isTyped = false;
    if (napi_get_element(env, arr, i, &item) != napi_ok || napi_is_typedarray(env, item, &isTyped) != napi_ok ||
        !isTyped || napi_get_typedarray_info(env, item, &type, &len, &data, nullptr, nullptr) != napi_ok ||
        type != napi_uint8_array) {
      Throw(env, kInvalidArgType, "shard " + std::to_string(i) + " must be a Uint8Array", ErrorKind::kType);
      return false;
    }
    if (len == 0 || static_cast<uint64_t>(len) > kShardSizeBytesMax) {
      Throw(env, kOutOfRange, "shard " + std::to_string(i) + " length must be in [1, 2^30] (detached buffer?)",
            ErrorKind::kRange);
      return false;
    }
    if (set->stripes.empty() && i == 0) set->len = len;
    if (len != set->len) {
      Throw(env, kShardSize, "shard " + std::to_string(i) + " has length " + std::to_string(len) + ", expected " +
                                 std::to_string(set->len), ErrorKind::kRange);
      return false;
    }
    ptrs[i] = static_cast<uint8_t*>(data);
    if (keepAlive) set->refs.push_back(Napi::Persistent(Napi::Value(env, item)));
  }
  set->stripes.push_back(std::move(ptrs));
  return true;
}

// No two shards anywhere in the set may share a byte: outputs written while another shard is read would
// make the result depend on kernel and chunk order.
bool CheckDisjoint(Napi::Env env, const ShardSet& set) {
  std::vector<uintptr_t> starts;
  for (const auto& stripe : set.stripes) {
    for (uint8_t* p : stripe) starts.push_back(reinterpret_cast<uintptr_t>(p));
  }
  std::sort(starts.begin(), starts.end());
  for (size_t i = 1; i < starts.size(); i++) {
    // Widened: start + len cannot wrap for a real mapping, but compare as unsigned 128-free difference.
    if (starts[i] - starts[i - 1] < set.len) {
      Throw(env, kOverlap, "shard buffers overlap", ErrorKind::kRange);
      return false;
    }
  }
  return true;
}

struct Pattern {
  std::vector<uint8_t> present;  // bool per shard (vector<bool> has no data())
  std::vector<int> targets;
};

bool GetPattern(Napi::Env env, const Codec& codec, Napi::Value presentV, Napi::Value targetsV, Pattern* out) {
  const int n = codec.k() + codec.m();
  if (!presentV.IsArray() || presentV.As<Napi::Array>().Length() != static_cast<uint32_t>(n)) {
    Throw(env, kInvalidArgType, "present must be an array of " + std::to_string(n) + " booleans", ErrorKind::kType);
    return false;
  }
  Napi::Array pa = presentV.As<Napi::Array>();
  out->present.assign(n, 0);
  int presentCount = 0;
  for (int i = 0; i < n; i++) {
    out->present[i] = pa.Get(static_cast<uint32_t>(i)).ToBoolean().Value() ? 1 : 0;
    presentCount += out->present[i];
  }
  if (presentCount < codec.k()) {
    Throw(env, kTooFew, std::to_string(presentCount) + " shards present, " + std::to_string(codec.k()) + " needed");
    return false;
  }
  if (!targetsV.IsArray()) {
    Throw(env, kInvalidArgType, "targets must be an array of shard indices", ErrorKind::kType);
    return false;
  }
  Napi::Array ta = targetsV.As<Napi::Array>();
  if (ta.Length() > static_cast<uint32_t>(n)) {
    Throw(env, kBadTargets, "more targets than shards");
    return false;
  }
  std::vector<uint8_t> seen(n, 0);
  for (uint32_t i = 0; i < ta.Length(); i++) {
    int t;
    if (!IntArg(env, ta.Get(i), "target", 0, n - 1, &t)) return false;
    if (out->present[t] || seen[t]) {
      Throw(env, kBadTargets, "target " + std::to_string(t) + " is present or listed twice");
      return false;
    }
    seen[t] = 1;
    out->targets.push_back(t);
  }
  return true;
}

Napi::Value Kernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array supported = Napi::Array::New(env);
  uint32_t n = 0;
  for (int i = 0; i < static_cast<int>(ec::Kernel::kCount); i++) {
    if (ec::KernelSupported(static_cast<ec::Kernel>(i))) {
      supported.Set(n++, Napi::String::New(env, ec::KernelName(static_cast<ec::Kernel>(i))));
    }
  }
  out.Set("supported", supported);
  out.Set("best", Napi::String::New(env, ec::KernelName(ec::BestKernel())));
  ec::Kernel chosen;
  std::string err;
  if (ec::DefaultKernel(&chosen, &err)) {
    out.Set("chosen", Napi::String::New(env, ec::KernelName(chosen)));
  } else {
    out.Set("chosen", Napi::String::New(env, ec::KernelName(ec::BestKernel())));
    out.Set("error", Napi::String::New(env, err));
  }
  return out;
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int k, m;
  if (!IntArg(env, info[0], "k", 1, kShardCountDataMax, &k)) return env.Undefined();
  if (!IntArg(env, info[1], "m", 0, kShardCountParityMax, &m)) return env.Undefined();
  if (k + m > kShardCountTotalMax) {
    Throw(env, kOutOfRange, "k + m must be at most 256", ErrorKind::kRange);
    return env.Undefined();
  }
  ec::Kernel kernel;
  std::string err;
  if (info.Length() > 1 && info[2].IsString()) {
    if (!ec::ResolveKernel(info[2].As<Napi::String>().Utf8Value(), &kernel, &err)) {
      Throw(env, kKernel, err);
      return env.Undefined();
    }
  } else if (!ec::DefaultKernel(&kernel, &err)) {
    Throw(env, kKernel, err);
    return env.Undefined();
  }
  auto* handle = new CodecHandle{Codec::Create(k, m, kernel)};
  return NewHandle(env, handle, [](Napi::Env, CodecHandle* h) { delete h; });
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Codec* codec = GetCodec(env, info[0]);
  if (codec == nullptr) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
  out.Set("k", codec->k());
  out.Set("m", codec->m());
  out.Set("kernel", ec::KernelName(codec->kernel()));
  out.Set("planCacheSize", static_cast<double>(codec->planCacheSize()));
  return out;
}

void EncodeStripe(const Codec& codec, const std::vector<uint8_t*>& ptrs, size_t len) {
  codec.Encode(ptrs.data(), ptrs.data() + codec.k(), len);
}

Napi::Value EncodeSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Codec* codec = GetCodec(env, info[0]);
  if (codec == nullptr) return env.Undefined();
  ShardSet set;
  if (!AddStripe(env, info[1], codec->k() + codec->m(), false, &set)) return env.Undefined();
  if (!CheckDisjoint(env, set)) return env.Undefined();
  EncodeStripe(*codec, set.stripes[0], set.len);
  return env.Undefined();
}

// One contiguous stripe: a Uint8Array of (k + m) * len bytes, shard i at [i * len, (i + 1) * len). One typed-array
// query per call instead of k + m, and no overlap check (the shards are disjoint by construction): the
// small-stripe entry point (issue 15). Fills `ptrs` and `len`, or throws.
bool OneBufferStripe(Napi::Env env, const Codec& codec, Napi::Value v, uint8_t** ptrs, size_t* len) {
  napi_typedarray_type type;
  size_t bytes = 0;
  void* data = nullptr;
  bool isTyped = false;
  if (napi_is_typedarray(env, v, &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, v, &type, &bytes, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
    Throw(env, kInvalidArgType, "stripe must be a Uint8Array", ErrorKind::kType);
    return false;
  }
  const size_t n = static_cast<size_t>(codec.k() + codec.m());
  if (bytes == 0 || bytes % n != 0 || static_cast<uint64_t>(bytes / n) > kShardSizeBytesMax) {
    Throw(env, kShardSize,
          "stripe length " + std::to_string(bytes) + " is not (k + m) = " + std::to_string(n) +
              " times a shard length in [1, 2^30] (detached buffer?)",
          ErrorKind::kRange);
    return false;
  }
  *len = bytes / n;
  for (size_t i = 0; i < n; i++) ptrs[i] = static_cast<uint8_t*>(data) + i * *len;
  return true;
}

Napi::Value EncodeStripeSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Codec* codec = GetCodec(env, info[0]);
  if (codec == nullptr) return env.Undefined();
  uint8_t* ptrs[256];
  size_t len = 0;
  if (!OneBufferStripe(env, *codec, info[1], ptrs, &len)) return env.Undefined();
  codec->Encode(ptrs, ptrs + codec->k(), len);
  return env.Undefined();
}

// codecPlan(handle, present, targets): validates the pattern once and returns a plan handle for
// codecReconstructStripeSync, so a caller that meets the same erasure pattern per stripe pays neither the
// pattern checks nor the cache lookup per call.
Napi::Value MakePlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CodecHandle* h = GetHandle<CodecHandle>(env, info[0], "codec");
  if (h == nullptr) return env.Undefined();
  Pattern pattern;
  if (!GetPattern(env, *h->codec, info[1], info[2], &pattern)) return env.Undefined();
  std::vector<int> sources;
  for (int i = 0; i < h->codec->k() + h->codec->m() && static_cast<int>(sources.size()) < h->codec->k(); i++) {
    if (pattern.present[i]) sources.push_back(i);
  }
  auto* ph = new PlanHandle{h->codec, h->codec->Plan(sources, pattern.targets)};
  return NewHandle(env, ph, [](Napi::Env, PlanHandle* p) { delete p; });
}

Napi::Value ReconstructStripeSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PlanHandle* ph = GetHandle<PlanHandle>(env, info[0], "decode plan");
  if (ph == nullptr) return env.Undefined();
  uint8_t* ptrs[256];
  size_t len = 0;
  if (!OneBufferStripe(env, *ph->codec, info[1], ptrs, &len)) return env.Undefined();
  ph->codec->ReconstructWith(*ph->plan, ptrs, len);
  return env.Undefined();
}

bool CollectBatch(Napi::Env env, const Codec& codec, Napi::Value v, ShardSet* set) {
  if (!v.IsArray()) {
    Throw(env, kInvalidArgType, "stripes must be an array of shard arrays", ErrorKind::kType);
    return false;
  }
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    if (!AddStripe(env, arr.Get(i), codec.k() + codec.m(), true, set)) return false;
  }
  return CheckDisjoint(env, *set);
}

class CodecWorker : public Napi::AsyncWorker {
 public:
  CodecWorker(Napi::Env env, std::shared_ptr<Codec> codec, ShardSet set, Pattern pattern, bool reconstruct)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        codec_(std::move(codec)),
        set_(std::move(set)),
        pattern_(std::move(pattern)),
        reconstruct_(reconstruct) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    for (const auto& stripe : set_.stripes) {
      if (!reconstruct_) {
        EncodeStripe(*codec_, stripe, set_.len);
        continue;
      }
      std::string err;
      const bool ok = codec_->Reconstruct(stripe.data(), reinterpret_cast<const bool*>(pattern_.present.data()),
                                          pattern_.targets.data(), static_cast<int>(pattern_.targets.size()),
                                          set_.len, &err);
      SV_ASSERT(ok);  // the present count was checked before scheduling
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Codec> codec_;
  ShardSet set_;  // holds the references that keep the buffers alive until OnOK/OnError
  Pattern pattern_;
  bool reconstruct_;
};

static_assert(sizeof(bool) == sizeof(uint8_t), "present flags are passed as bool*");

Napi::Value EncodeAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Codec* codec = GetCodec(env, info[0]);
  if (codec == nullptr) return env.Undefined();
  ShardSet set;
  if (!CollectBatch(env, *codec, info[1], &set)) return env.Undefined();
  auto shared = info[0].As<Napi::External<CodecHandle>>().Data()->codec;
  auto* worker = new CodecWorker(env, shared, std::move(set), Pattern{}, false);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value ReconstructSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Codec* codec = GetCodec(env, info[0]);
  if (codec == nullptr) return env.Undefined();
  ShardSet set;
  Pattern pattern;
  if (!AddStripe(env, info[1], codec->k() + codec->m(), false, &set)) return env.Undefined();
  if (!CheckDisjoint(env, set)) return env.Undefined();
  if (!GetPattern(env, *codec, info[2], info[3], &pattern)) return env.Undefined();
  std::string err;
  if (!codec->Reconstruct(set.stripes[0].data(), reinterpret_cast<const bool*>(pattern.present.data()),
                          pattern.targets.data(), static_cast<int>(pattern.targets.size()), set.len, &err)) {
    Throw(env, kTooFew, err);
  }
  return env.Undefined();
}

Napi::Value ReconstructAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Codec* codec = GetCodec(env, info[0]);
  if (codec == nullptr) return env.Undefined();
  ShardSet set;
  Pattern pattern;
  if (!CollectBatch(env, *codec, info[1], &set)) return env.Undefined();
  if (!GetPattern(env, *codec, info[2], info[3], &pattern)) return env.Undefined();
  auto shared = info[0].As<Napi::External<CodecHandle>>().Data()->codec;
  auto* worker = new CodecWorker(env, shared, std::move(set), std::move(pattern), true);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

std::shared_ptr<ec::Codec> CodecFromHandle(Napi::Env env, Napi::Value handle) {
  if (GetCodec(env, handle) == nullptr) return nullptr;
  return handle.As<Napi::External<CodecHandle>>().Data()->codec;
}

bool CollectStripes(Napi::Env env, const ec::Codec& codec, Napi::Value stripes,
                    std::vector<std::vector<uint8_t*>>* ptrs, size_t* len,
                    std::vector<Napi::Reference<Napi::Value>>* refs) {
  ShardSet set;
  if (!CollectBatch(env, codec, stripes, &set)) return false;
  *ptrs = std::move(set.stripes);
  *len = set.len;
  *refs = std::move(set.refs);
  return true;
}

void InitCodec(Napi::Env env, Napi::Object exports) {
  exports.Set("codecKernels", Napi::Function::New(env, Kernels, "codecKernels"));
  exports.Set("codecCreate", Napi::Function::New(env, Create, "codecCreate"));
  exports.Set("codecInfo", Napi::Function::New(env, Info, "codecInfo"));
  exports.Set("codecEncodeSync", Napi::Function::New(env, EncodeSync, "codecEncodeSync"));
  exports.Set("codecEncodeAsync", Napi::Function::New(env, EncodeAsync, "codecEncodeAsync"));
  exports.Set("codecEncodeStripeSync", Napi::Function::New(env, EncodeStripeSync, "codecEncodeStripeSync"));
  exports.Set("codecPlan", Napi::Function::New(env, MakePlan, "codecPlan"));
  exports.Set("codecReconstructStripeSync", Napi::Function::New(env, ReconstructStripeSync, "codecReconstructStripeSync"));
  exports.Set("codecReconstructSync", Napi::Function::New(env, ReconstructSync, "codecReconstructSync"));
  exports.Set("codecReconstructAsync", Napi::Function::New(env, ReconstructAsync, "codecReconstructAsync"));
}

}  // namespace sv
