// Placeholder until its owner lands it: registers nothing yet.
#include "napi_exports.h"

namespace sv {
void InitBlake3(Napi::Env env, Napi::Object exports) {}
}  // namespace sv
