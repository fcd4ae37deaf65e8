#include "common/kernel_select.h"

#include <cstdlib>

namespace sv {
namespace {

std::string Choices(const KernelFamily& family) {
  std::string s;
  for (int i = 0; i < family.count; i++) {
    if (i > 0) s += "|";
    s += family.names[i];
  }
  return s;
}

}  // namespace

int KernelIndex(const KernelFamily& family, const std::string& name) {
  for (int i = 0; i < family.count; i++) {
    if (name == family.names[i]) return i;
  }
  return -1;
}

int BestKernelIndex(const KernelFamily& family) {
  for (int j = 0; j < family.order_len; j++) {
    const int k = family.order[j];
    if ((family.supported >> k) & 1u) return k;
  }
  return family.fallback;
}

bool ResolveKernelIndex(const KernelFamily& family, const std::string& name, const std::string& source, int* out,
                        std::string* err) {
  const int k = KernelIndex(family, name);
  if (k < 0) {
    *err = source + " \"" + name + "\" is not a " + family.what + " kernel (" + Choices(family) + ")";
    return false;
  }
  if (!((family.supported >> k) & 1u)) {
    *err = source + " \"" + name + "\": this CPU or build has no " + family.what + " kernel " + name;
    return false;
  }
  *out = k;
  return true;
}

bool DefaultKernelIndex(const KernelFamily& family, int* out, std::string* err) {
  const char* forced = std::getenv(family.env_var);
  if (forced == nullptr || forced[0] == '\0') {
    *out = BestKernelIndex(family);
    return true;
  }
  return ResolveKernelIndex(family, forced, family.env_var, out, err);
}

}  // namespace sv
