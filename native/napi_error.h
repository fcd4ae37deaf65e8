// Throwing JS errors with stable codes from the binding (NAPI_DISABLE_CPP_EXCEPTIONS: callers return
// right after). Codes match lib/errors.ts.
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

}  // namespace sv
