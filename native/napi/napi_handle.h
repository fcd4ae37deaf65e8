// Handles the addon gives JavaScript (codec, decode plan, BLAKE3 hasher, shard writer) are externals carrying
// a type tag (napi_type_tag_object, N-API 8). Every call that takes a handle checks the tag first: a handle of
// one kind passed where another is expected, or any other external, is refused with ERR_SV_INVALID_ARG_TYPE.
// Without the tag the binding would reinterpret the pointer as the wrong type: a hasher passed to codecInfo
// crashed the process (found by the argument fuzz of issue 14).
#pragma once

#include <napi.h>

#include <string>

#include "napi/napi_error.h"

namespace sv {

// One 128-bit tag per handle type: random constants, never reused for another type.
template <typename T>
struct HandleTag;

template <typename T, typename Finalizer>
Napi::Value NewHandle(Napi::Env env, T* data, Finalizer finalizer) {
  Napi::External<T> ext = Napi::External<T>::New(env, data, finalizer);
  if (napi_type_tag_object(env, ext, &HandleTag<T>::kTag) != napi_ok) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", "could not tag a new handle");
    return env.Undefined();
  }
  return ext;
}

// The data behind a handle of type T, or nullptr with a pending TypeError naming `what`.
template <typename T>
T* GetHandle(Napi::Env env, Napi::Value v, const char* what) {
  bool tagged = false;
  if (!v.IsExternal() || napi_check_object_type_tag(env, v, &HandleTag<T>::kTag, &tagged) != napi_ok || !tagged) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", std::string(what) + " handle expected", ErrorKind::kType);
    return nullptr;
  }
  return v.As<Napi::External<T>>().Data();
}

}  // namespace sv
