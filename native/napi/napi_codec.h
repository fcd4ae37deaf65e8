// What the codec binding (napi_codec.cc) offers the other bindings that take a codec handle
// (napi_stripe.cc): the codec behind a handle and the stripe-batch argument parser, with the same checks
// the codec's own calls make (a bad handle or a bad batch has thrown a JS error when these return empty).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ec/ec_codec.h"

namespace sv {

// The codec behind `handle`, or nullptr with a pending JS exception when it is not a live codec handle.
std::shared_ptr<ec::Codec> CodecFromHandle(Napi::Env env, Napi::Value handle);

// Parses `stripes` (Uint8Array[k+m][]) into block pointers, checking every length against `codec`; `refs`
// keep the buffers alive while a worker uses them. False with a pending JS exception on any bad input.
bool CollectStripes(Napi::Env env, const ec::Codec& codec, Napi::Value stripes,
                    std::vector<std::vector<uint8_t*>>* ptrs, size_t* len,
                    std::vector<Napi::Reference<Napi::Value>>* refs);

}  // namespace sv
