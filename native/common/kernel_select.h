// How a kernel family (codec dot products, BLAKE3 hash_many) is chosen: the fastest one this CPU and build
// support, unless a test or benchmark forces one by name (an environment variable or an API option). Both
// dispatchers use this one implementation, so they agree on what forcing means: an unknown name or one the
// CPU lacks is an error that names the value and the choices, never a silent fallback.
#pragma once

#include <cstdint>
#include <string>

namespace sv {

struct KernelFamily {
  const char* what;           // for messages: "codec", "BLAKE3"
  const char* env_var;        // e.g. "SHARDVAULT_KERNEL"
  const char* const* names;   // index = kernel number
  int count;
  uint32_t supported;         // bit i set: kernel i runs on this CPU and was built
  const int* order;           // preference, fastest first
  int order_len;
  int fallback;               // always supported (the portable/scalar kernel)
};

// Index of `name` in the family, or -1.
int KernelIndex(const KernelFamily& family, const std::string& name);
// The first supported kernel of `order`, else the fallback.
int BestKernelIndex(const KernelFamily& family);
// A kernel requested by name (`source` says by whom, e.g. the variable or "option kernel"): false with `err`
// set when the name is unknown or the kernel unsupported here.
bool ResolveKernelIndex(const KernelFamily& family, const std::string& name, const std::string& source, int* out,
                        std::string* err);
// The environment variable's kernel when it is set and non-empty (validated as above), else the best one.
bool DefaultKernelIndex(const KernelFamily& family, int* out, std::string* err);

// The same three, for a family's own kernel enum (what each dispatcher's public functions return).
template <typename K>
bool KernelByName(const KernelFamily& family, const std::string& name, K* out) {
  const int i = KernelIndex(family, name);
  if (i >= 0) *out = static_cast<K>(i);
  return i >= 0;
}

template <typename K>
bool ResolveKernelAs(const KernelFamily& family, const std::string& name, const std::string& source, K* out,
                     std::string* err) {
  int i = 0;
  const bool ok = ResolveKernelIndex(family, name, source, &i, err);
  if (ok) *out = static_cast<K>(i);
  return ok;
}

template <typename K>
bool DefaultKernelAs(const KernelFamily& family, K* out, std::string* err) {
  int i = 0;
  const bool ok = DefaultKernelIndex(family, &i, err);
  if (ok) *out = static_cast<K>(i);
  return ok;
}

}  // namespace sv
