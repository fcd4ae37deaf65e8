// N-API surface of BLAKE3. lib/hash.ts validates at the edge; lengths and types are re-checked here.
//   blake3Kernels() -> { supported, chosen, best, error? }
//   blake3Sync(data, key?, context?, kernel?) -> Buffer(32)         (mode: key => keyed, context => derive_key)
//   blake3Async(data, key?, context?, kernel?) -> Promise<Buffer>
//   blake3BatchSync(blocks[], key?, context?, kernel?) -> Buffer(32 * n)   (one digest per block, concatenated)
//   blake3BatchAsync(blocks[], key?, context?, kernel?) -> Promise<Buffer>
//   blake3HasherCreate(key?, context?) -> handle; blake3HasherUpdate(h, data); blake3HasherDigest(h) -> Buffer(32)
//   blake3HasherUpdateAsync(h, chunks[]) -> Promise<void>   (the chunks, in order, on the pool; lib/hash.ts
//     keeps the hasher busy until it settles: no other update or digest may touch it meanwhile)
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "blake3/blake3_impl.h"
#include "napi/napi_error.h"
#include "napi/napi_exports.h"
#include "napi/napi_handle.h"

namespace sv {

template <>
struct HandleTag<blake3::Hasher> {
  static constexpr napi_type_tag kTag = {0xb007a42fe6daf894ULL, 0x05231602a2d56048ULL};
};

namespace {

using blake3::Hasher;

struct Mode {
  bool keyed = false;
  uint8_t key[blake3::kKeyBytes];
  bool derive = false;
  std::string context;
  int kernel = -1;  // -1: the active kernel
};

bool CheckActiveKernel(Napi::Env env) {
  blake3::Kernel k;
  std::string err;
  if (!blake3::DefaultKernel(&k, &err)) {
    Throw(env, "ERR_SV_KERNEL_UNAVAILABLE", err);
    return false;
  }
  return true;
}

bool GetMode(Napi::Env env, const Napi::CallbackInfo& info, size_t first, Mode* mode) {
  if (!CheckActiveKernel(env)) return false;
  Napi::Value key = info[first];
  Napi::Value context = info[first + 1];
  Napi::Value kernel = info[first + 2];
  if (!key.IsUndefined() && !key.IsNull()) {
    uint8_t* data;
    size_t len;
    if (!GetBytes(env, key, "key", &data, &len)) return false;
    if (len != blake3::kKeyBytes) {
      Throw(env, "ERR_SV_OUT_OF_RANGE", "key must be exactly 32 bytes", ErrorKind::kRange);
      return false;
    }
    mode->keyed = true;
    std::memcpy(mode->key, data, blake3::kKeyBytes);
  }
  if (!context.IsUndefined() && !context.IsNull()) {
    if (!context.IsString()) {
      Throw(env, "ERR_SV_INVALID_ARG_TYPE", "context must be a string", ErrorKind::kType);
      return false;
    }
    if (mode->keyed) {
      Throw(env, "ERR_SV_OUT_OF_RANGE", "key and context are mutually exclusive", ErrorKind::kRange);
      return false;
    }
    mode->derive = true;
    mode->context = context.As<Napi::String>().Utf8Value();
  }
  if (!kernel.IsUndefined() && !kernel.IsNull()) {
    if (!kernel.IsString()) {
      Throw(env, "ERR_SV_INVALID_ARG_TYPE", "kernel must be a string", ErrorKind::kType);
      return false;
    }
    const std::string name = kernel.As<Napi::String>().Utf8Value();
    blake3::Kernel k;
    std::string err;
    if (!blake3::ResolveKernel(name, &k, &err)) {
      Throw(env, "ERR_SV_KERNEL_UNAVAILABLE", err);
      return false;
    }
    mode->kernel = static_cast<int>(k);
  }
  return true;
}

Hasher MakeHasher(const Mode& mode) {
  Hasher h = mode.keyed    ? Hasher(mode.key)
             : mode.derive ? Hasher::ForDeriveKey(mode.context.data(), mode.context.size())
                           : Hasher();
  if (mode.kernel >= 0) h.SetKernel(mode.kernel);
  return h;
}

void HashOne(const Mode& mode, const uint8_t* data, size_t len, uint8_t* out) {
  Hasher h = MakeHasher(mode);
  h.Update(data, len);
  h.Finalize(out);
}

// One digest per block into out[32 * n]. Blocks of one length (the usual batch: a stripe's blocks, a run of
// small objects) are hashed across blocks (Hasher::HashEqualLength); mixed lengths one by one.
template <typename Byte>
void HashBatch(const Mode& mode, const std::vector<std::pair<Byte*, size_t>>& blocks, uint8_t* out) {
  if (blocks.empty()) return;
  const size_t len = blocks[0].second;
  bool same = true;
  for (const auto& b : blocks) same = same && b.second == len;
  if (!same) {
    for (size_t i = 0; i < blocks.size(); i++) HashOne(mode, blocks[i].first, blocks[i].second, out + i * blake3::kOutBytes);
    return;
  }
  std::vector<const uint8_t*> ptrs(blocks.size());
  for (size_t i = 0; i < blocks.size(); i++) ptrs[i] = blocks[i].first;
  MakeHasher(mode).HashEqualLength(ptrs.data(), ptrs.size(), len, out);
}

Napi::Value Kernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array supported = Napi::Array::New(env);
  uint32_t n = 0;
  for (int i = 0; i < static_cast<int>(blake3::Kernel::kCount); i++) {
    if (blake3::KernelSupported(static_cast<blake3::Kernel>(i))) {
      supported.Set(n++, blake3::KernelName(static_cast<blake3::Kernel>(i)));
    }
  }
  out.Set("supported", supported);
  out.Set("best", blake3::KernelName(blake3::BestKernel()));
  out.Set("chosen", blake3::KernelName(blake3::ActiveKernel()));
  blake3::Kernel k;
  std::string err;
  if (!blake3::DefaultKernel(&k, &err)) out.Set("error", err);
  return out;
}

Napi::Value HashSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data;
  size_t len;
  Mode mode;
  if (!GetBytes(env, info[0], "data", &data, &len) || !GetMode(env, info, 1, &mode)) return env.Undefined();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, blake3::kOutBytes);
  HashOne(mode, data, len, out.Data());
  return out;
}

// Hashes a list of inputs on the pool; keeps them alive with references until done.
class HashWorker : public Napi::AsyncWorker {
 public:
  HashWorker(Napi::Env env, Mode mode) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), mode_(std::move(mode)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Add(Napi::Value v, const uint8_t* data, size_t len) {
    refs_.push_back(Napi::Persistent(v));
    inputs_.push_back({data, len});
  }
  void Execute() override {
    out_.resize(inputs_.size() * blake3::kOutBytes);
    HashBatch(mode_, inputs_, out_.data());
  }
  void OnOK() override {
    deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(Env(), out_.data(), out_.size()));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Mode mode_;
  std::vector<Napi::Reference<Napi::Value>> refs_;
  std::vector<std::pair<const uint8_t*, size_t>> inputs_;
  std::vector<uint8_t> out_;
};

Napi::Value HashAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data;
  size_t len;
  Mode mode;
  if (!GetBytes(env, info[0], "data", &data, &len) || !GetMode(env, info, 1, &mode)) return env.Undefined();
  auto* worker = new HashWorker(env, mode);
  worker->Add(info[0], data, len);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

bool CollectBatch(Napi::Env env, Napi::Value v, std::vector<std::pair<uint8_t*, size_t>>* out) {
  if (!v.IsArray()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", "blocks must be an array of Uint8Array", ErrorKind::kType);
    return false;
  }
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    uint8_t* data;
    size_t len;
    if (!GetBytes(env, arr.Get(i), "block", &data, &len)) return false;
    out->push_back({data, len});
  }
  return true;
}

Napi::Value BatchSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::pair<uint8_t*, size_t>> blocks;
  Mode mode;
  if (!CollectBatch(env, info[0], &blocks) || !GetMode(env, info, 1, &mode)) return env.Undefined();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, blocks.size() * blake3::kOutBytes);
  HashBatch(mode, blocks, out.Data());
  return out;
}

Napi::Value BatchAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::pair<uint8_t*, size_t>> blocks;
  Mode mode;
  if (!CollectBatch(env, info[0], &blocks) || !GetMode(env, info, 1, &mode)) return env.Undefined();
  auto* worker = new HashWorker(env, mode);
  Napi::Array arr = info[0].As<Napi::Array>();
  for (size_t i = 0; i < blocks.size(); i++) worker->Add(arr.Get(static_cast<uint32_t>(i)), blocks[i].first, blocks[i].second);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value HasherCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mode mode;
  if (!GetMode(env, info, 0, &mode)) return env.Undefined();
  return NewHandle(env, new Hasher(MakeHasher(mode)), [](Napi::Env, Hasher* h) { delete h; });
}

Hasher* GetHasher(Napi::Env env, Napi::Value v) { return GetHandle<Hasher>(env, v, "hasher"); }

Napi::Value HasherUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Hasher* h = GetHasher(env, info[0]);
  uint8_t* data;
  size_t len;
  if (h == nullptr || !GetBytes(env, info[1], "data", &data, &len)) return env.Undefined();
  h->Update(data, len);
  return env.Undefined();
}

// Feeds chunks to a hasher on the pool (the main thread stays free; an object's content hash is GiBs).
class HasherUpdateWorker : public Napi::AsyncWorker {
 public:
  HasherUpdateWorker(Napi::Env env, Hasher* h) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), hasher_(h) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Keep(Napi::Value v) { refs_.push_back(Napi::Persistent(v)); }
  void Add(const uint8_t* data, size_t len) { inputs_.push_back({data, len}); }
  void Execute() override {
    for (const auto& in : inputs_) hasher_->Update(in.first, in.second);
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Hasher* hasher_;
  std::vector<Napi::Reference<Napi::Value>> refs_;  // the hasher handle and every chunk stay alive until done
  std::vector<std::pair<const uint8_t*, size_t>> inputs_;
};

Napi::Value HasherUpdateAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Hasher* h = GetHasher(env, info[0]);
  if (h == nullptr) return env.Undefined();
  std::vector<std::pair<uint8_t*, size_t>> chunks;
  if (!CollectBatch(env, info[1], &chunks)) return env.Undefined();
  auto* worker = new HasherUpdateWorker(env, h);
  worker->Keep(info[0]);
  Napi::Array arr = info[1].As<Napi::Array>();
  for (size_t i = 0; i < chunks.size(); i++) {
    worker->Keep(arr.Get(static_cast<uint32_t>(i)));
    worker->Add(chunks[i].first, chunks[i].second);
  }
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value HasherDigest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Hasher* h = GetHasher(env, info[0]);
  if (h == nullptr) return env.Undefined();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, blake3::kOutBytes);
  h->Finalize(out.Data());
  return out;
}

}  // namespace

void InitBlake3(Napi::Env env, Napi::Object exports) {
  exports.Set("blake3Kernels", Napi::Function::New(env, Kernels, "blake3Kernels"));
  exports.Set("blake3Sync", Napi::Function::New(env, HashSync, "blake3Sync"));
  exports.Set("blake3Async", Napi::Function::New(env, HashAsync, "blake3Async"));
  exports.Set("blake3BatchSync", Napi::Function::New(env, BatchSync, "blake3BatchSync"));
  exports.Set("blake3BatchAsync", Napi::Function::New(env, BatchAsync, "blake3BatchAsync"));
  exports.Set("blake3HasherCreate", Napi::Function::New(env, HasherCreate, "blake3HasherCreate"));
  exports.Set("blake3HasherUpdate", Napi::Function::New(env, HasherUpdate, "blake3HasherUpdate"));
  exports.Set("blake3HasherUpdateAsync", Napi::Function::New(env, HasherUpdateAsync, "blake3HasherUpdateAsync"));
  exports.Set("blake3HasherDigest", Napi::Function::New(env, HasherDigest, "blake3HasherDigest"));
}

}  // namespace sv
