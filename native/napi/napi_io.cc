// N-API surface of durable shard I/O. Every file system call runs on the libuv pool (one AsyncWorker per
// operation); lib/shardio.ts serializes operations per writer and validates arguments at the edge.
//   ioStat(path) -> { dev, ino }                          (sync: one stat at disk open)
//   ioWriterOpen(dir, name, expectDev, direct?) -> Promise<handle>
//   ioWriterAppend(handle, data) / ioWriterPwrite(handle, data, offset) -> Promise<void>
//   ioWriterSeal(handle, replace) -> Promise<void>        (resolves only when durable)
//   ioWriterAbort(handle) -> Promise<void>
//   ioWriterState(handle) -> { written, lost, durable, tmpPath, finalPath }
//   ioReadRange(path, offset, length, blockBytes, expected?) -> Promise<{ data, ok? }>
//   ioFsyncDir(dir) -> Promise<void>
#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "blake3/blake3.h"
#include "napi/napi_error.h"
#include "napi/napi_exports.h"
#include "napi/napi_handle.h"
#include "io/shard_io.h"

namespace sv {
namespace {

using io::IoError;
using io::ShardWriter;
using WriterPtr = std::shared_ptr<ShardWriter>;

}  // namespace

template <>
struct HandleTag<std::shared_ptr<io::ShardWriter>> {
  static constexpr napi_type_tag kTag = {0x2e946ea502accc26ULL, 0x21691425d4426de5ULL};
};

namespace {

Napi::Error ToJs(Napi::Env env, const IoError& e) {
  Napi::Error err = MakeError(env, e.code, e.message);
  if (e.err != 0) {
    err.Set("errno", Napi::Number::New(env, e.err));
    err.Set("syscall", Napi::String::New(env, e.syscall));
  }
  if (!e.path.empty()) err.Set("path", Napi::String::New(env, e.path));
  return err;
}

class IoWorker : public Napi::AsyncWorker {
 public:
  using Op = std::function<bool(IoError*)>;
  using Result = std::function<Napi::Value(Napi::Env)>;
  IoWorker(Napi::Env env, Op op, Result result)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), op_(std::move(op)), result_(std::move(result)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Keep(Napi::Value v) { refs_.push_back(Napi::Persistent(v)); }
  void Execute() override { ok_ = op_(&error_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (!ok_) {
      deferred_.Reject(ToJs(env, error_).Value());
      return;
    }
    deferred_.Resolve(result_ ? result_(env) : env.Undefined());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Op op_;
  Result result_;
  IoError error_;
  bool ok_ = false;
  std::vector<Napi::Reference<Napi::Value>> refs_;
};

Napi::Value Queue(IoWorker* w) {
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

bool Str(Napi::Env env, Napi::Value v, const char* name, std::string* out) {
  if (!v.IsString()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", std::string(name) + " must be a string", ErrorKind::kType);
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  if (out->empty() || out->find('\0') != std::string::npos) {
    Throw(env, "ERR_SV_OUT_OF_RANGE", std::string(name) + " must be a non-empty path without NUL", ErrorKind::kRange);
    return false;
  }
  return true;
}

// Non-negative safe integer (<= 2^53 - 1) as uint64.
bool U64(Napi::Env env, Napi::Value v, const char* name, uint64_t* out) {
  if (!v.IsNumber()) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", std::string(name) + " must be a number", ErrorKind::kType);
    return false;
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    Throw(env, "ERR_SV_OUT_OF_RANGE", std::string(name) + " must be a non-negative safe integer", ErrorKind::kRange);
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

WriterPtr GetWriter(Napi::Env env, Napi::Value v) {
  WriterPtr* p = GetHandle<WriterPtr>(env, v, "writer");
  return p == nullptr ? nullptr : *p;
}

Napi::Value Stat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!Str(env, info[0], "path", &path)) return env.Undefined();
  io::DiskStat st;
  IoError e;
  if (!io::StatPath(path, &st, &e)) {
    ToJs(env, e).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("dev", static_cast<double>(st.dev));
  out.Set("ino", static_cast<double>(st.ino));
  return out;
}

Napi::Value WriterOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir, name;
  uint64_t dev = 0;
  if (!Str(env, info[0], "dir", &dir) || !Str(env, info[1], "name", &name) || !U64(env, info[2], "expectDev", &dev)) {
    return env.Undefined();
  }
  bool direct = false;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsBoolean()) {
      Throw(env, "ERR_SV_INVALID_ARG_TYPE", "direct must be a boolean", ErrorKind::kType);
      return env.Undefined();
    }
    direct = info[3].As<Napi::Boolean>().Value();
  }
  auto writer = std::make_shared<ShardWriter>();
  auto* w = new IoWorker(
      env, [writer, dir, name, dev, direct](IoError* e) { return writer->Open(dir, name, dev, direct, e); },
      [writer](Napi::Env env) -> Napi::Value {
        return NewHandle(env, new WriterPtr(writer), [](Napi::Env, WriterPtr* p) {
          // A writer dropped without seal or abort: remove its temporary file (nothing refers to it).
          if (!(*p)->durable()) (*p)->Abort();
          delete p;
        });
      });
  return Queue(w);
}

Napi::Value WriterWrite(const Napi::CallbackInfo& info, bool positioned) {
  Napi::Env env = info.Env();
  WriterPtr writer = GetWriter(env, info[0]);
  uint8_t* data;
  size_t len;
  uint64_t offset = 0;
  if (!writer || !GetBytes(env, info[1], "data", &data, &len)) return env.Undefined();
  if (positioned && !U64(env, info[2], "offset", &offset)) return env.Undefined();
  auto* w = new IoWorker(
      env,
      [writer, data, len, offset, positioned](IoError* e) {
        return positioned ? writer->PWrite(data, len, offset, e) : writer->Append(data, len, e);
      },
      nullptr);
  w->Keep(info[0]);
  w->Keep(info[1]);
  return Queue(w);
}

Napi::Value WriterAppend(const Napi::CallbackInfo& info) { return WriterWrite(info, false); }
Napi::Value WriterPwrite(const Napi::CallbackInfo& info) { return WriterWrite(info, true); }

Napi::Value WriterSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WriterPtr writer = GetWriter(env, info[0]);
  if (!writer) return env.Undefined();
  const bool replace = info[1].ToBoolean().Value();
  auto* w = new IoWorker(env, [writer, replace](IoError* e) { return writer->Seal(replace, e); }, nullptr);
  w->Keep(info[0]);
  return Queue(w);
}

Napi::Value WriterAbort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WriterPtr writer = GetWriter(env, info[0]);
  if (!writer) return env.Undefined();
  auto* w = new IoWorker(
      env,
      [writer](IoError*) {
        writer->Abort();
        return true;
      },
      nullptr);
  w->Keep(info[0]);
  return Queue(w);
}

Napi::Value WriterState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WriterPtr writer = GetWriter(env, info[0]);
  if (!writer) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
  out.Set("written", static_cast<double>(writer->written()));
  out.Set("lost", writer->lost());
  out.Set("durable", writer->durable());
  out.Set("tmpPath", writer->tmpPath());
  out.Set("finalPath", writer->finalPath());
  return out;
}

constexpr uint64_t kReadBytesMax = 1ull << 30;  // one call reads at most 1 GiB (I7)

Napi::Value ReadRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  uint64_t offset, length, blockBytes;
  if (!Str(env, info[0], "path", &path) || !U64(env, info[1], "offset", &offset) ||
      !U64(env, info[2], "length", &length) || !U64(env, info[3], "blockBytes", &blockBytes)) {
    return env.Undefined();
  }
  if (length > kReadBytesMax || offset > static_cast<uint64_t>(INT64_MAX) - length) {
    Throw(env, "ERR_SV_OUT_OF_RANGE", "length must be at most 1 GiB and offset + length must fit", ErrorKind::kRange);
    return env.Undefined();
  }
  std::shared_ptr<std::vector<uint8_t>> expected;
  size_t blocks = 0;
  if (!info[4].IsUndefined() && !info[4].IsNull()) {
    uint8_t* hashes;
    size_t hashesLen;
    if (!GetBytes(env, info[4], "expected", &hashes, &hashesLen)) return env.Undefined();
    if (blockBytes == 0 || length == 0) {
      Throw(env, "ERR_SV_OUT_OF_RANGE", "blockBytes and length must be positive to verify", ErrorKind::kRange);
      return env.Undefined();
    }
    blocks = static_cast<size_t>((length + blockBytes - 1) / blockBytes);
    if (static_cast<uint64_t>(hashesLen) != static_cast<uint64_t>(blocks) * blake3::kOutBytes) {
      Throw(env, "ERR_SV_OUT_OF_RANGE", "expected must hold one 32-byte hash per block", ErrorKind::kRange);
      return env.Undefined();
    }
    expected = std::make_shared<std::vector<uint8_t>>(hashes, hashes + hashesLen);
  }
  // The result buffer is allocated here (uninitialized, owned by V8, so counted by the GC) and the pool
  // thread reads straight into it: no copy on the main thread. It reaches JS only when the read succeeded.
  Napi::Buffer<uint8_t> dataBuf = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(length));
  auto dataRef = std::make_shared<Napi::Reference<Napi::Buffer<uint8_t>>>(Napi::Persistent(dataBuf));
  uint8_t* data = dataBuf.Data();
  const size_t dataLen = static_cast<size_t>(length);
  auto ok = std::make_shared<std::vector<uint8_t>>(blocks, 0);
  auto* w = new IoWorker(
      env,
      [=](IoError* e) {
        return io::ReadRange(path, offset, data, dataLen, static_cast<size_t>(blockBytes),
                             expected ? expected->data() : nullptr, blocks, ok->data(), e);
      },
      [dataRef, ok, expected](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("data", dataRef->Value());
        if (expected) out.Set("ok", Napi::Buffer<uint8_t>::Copy(env, ok->data(), ok->size()));
        return out;
      });
  return Queue(w);
}

Napi::Value FsyncDirJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir;
  if (!Str(env, info[0], "dir", &dir)) return env.Undefined();
  return Queue(new IoWorker(env, [dir](IoError* e) { return io::FsyncDir(dir, e); }, nullptr));
}

}  // namespace

void InitIo(Napi::Env env, Napi::Object exports) {
  exports.Set("ioStat", Napi::Function::New(env, Stat, "ioStat"));
  exports.Set("ioWriterOpen", Napi::Function::New(env, WriterOpen, "ioWriterOpen"));
  exports.Set("ioWriterAppend", Napi::Function::New(env, WriterAppend, "ioWriterAppend"));
  exports.Set("ioWriterPwrite", Napi::Function::New(env, WriterPwrite, "ioWriterPwrite"));
  exports.Set("ioWriterSeal", Napi::Function::New(env, WriterSeal, "ioWriterSeal"));
  exports.Set("ioWriterAbort", Napi::Function::New(env, WriterAbort, "ioWriterAbort"));
  exports.Set("ioWriterState", Napi::Function::New(env, WriterState, "ioWriterState"));
  exports.Set("ioReadRange", Napi::Function::New(env, ReadRange, "ioReadRange"));
  exports.Set("ioFsyncDir", Napi::Function::New(env, FsyncDirJs, "ioFsyncDir"));
}

}  // namespace sv
