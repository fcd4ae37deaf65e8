// Helpers shared by the napi_*.cc files: JS errors with stable codes (NAPI_DISABLE_CPP_EXCEPTIONS: callers
// return right after a Throw; codes match lib/errors.ts) and checked Uint8Array access.
#pragma once

#include <napi.h>

#include <string>

namespace sv {

enum class ErrorKind { kType, kRange, kPlain };

inline Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message,
                             ErrorKind kind = ErrorKind::kPlain) {
  Napi::Error err = kind == ErrorKind::kType    ? Napi::TypeError::New(env, message)
                    : kind == ErrorKind::kRange ? Napi::RangeError::New(env, message)
                                                : Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

inline void Throw(Napi::Env env, const char* code, const std::string& message, ErrorKind kind = ErrorKind::kPlain) {
  MakeError(env, code, message, kind).ThrowAsJavaScriptException();
}

// Data and length of a Uint8Array argument; throws ERR_SV_INVALID_ARG_TYPE (and returns false) otherwise.
inline bool GetBytes(Napi::Env env, Napi::Value v, const char* name, uint8_t** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Throw(env, "ERR_SV_INVALID_ARG_TYPE", std::string(name) + " must be a Uint8Array", ErrorKind::kType);
    return false;
  }
  Napi::Uint8Array u8 = v.As<Napi::Uint8Array>();
  *data = u8.Data();
  *len = u8.ByteLength();
  return true;
}

}  // namespace sv
