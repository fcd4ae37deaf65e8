// Each concern registers its functions on the addon's exports object. Only addon.cc calls these.
#pragma once

#include <napi.h>

namespace sv {
void InitCodec(Napi::Env env, Napi::Object exports);
void InitBlake3(Napi::Env env, Napi::Object exports);
void InitIo(Napi::Env env, Napi::Object exports);
void InitStripe(Napi::Env env, Napi::Object exports);
void InitCrc(Napi::Env env, Napi::Object exports);
}  // namespace sv
