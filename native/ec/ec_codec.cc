#include "ec/ec_codec.h"

#include <algorithm>

#include "ec/ec_dispatch.h"
#include "common/sv_assert.h"

namespace sv::ec {
namespace {

// L2 is 1 MiB per core on the reference machine (perf-anchors.md 0); leave half for everything else.
constexpr size_t kChunkBudgetBytes = 512 * 1024;
constexpr size_t kChunkBytesMin = 4096;

}  // namespace

std::shared_ptr<Codec> Codec::Create(int k, int m, Kernel kernel) {
  return std::shared_ptr<Codec>(new Codec(k, m, kernel));
}

Codec::Codec(int k, int m, Kernel kernel)
    : k_(k), m_(m), kernel_(kernel), fn_(KernelFn(kernel)), generator_(gf::CauchyGenerator(k, m)) {
  SV_ASSERT(k >= 1 && m >= 0 && k + m <= 256);
  parity_ = gf::MakeTables(generator_.data() + static_cast<size_t>(k) * k, m, k);
}

void Codec::Run(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t len) const {
  if (t.rows == 0 || len == 0) return;
  size_t chunk = kChunkBudgetBytes / static_cast<size_t>(t.k + t.rows);
  chunk = std::max(kChunkBytesMin, chunk & ~static_cast<size_t>(63));
  for (size_t offset = 0; offset < len; offset += chunk) {
    fn_(t, src, dst, offset, std::min(chunk, len - offset));
  }
}

void Codec::Encode(const uint8_t* const* data, uint8_t* const* parity, size_t len) const {
  Run(parity_, data, parity, len);
}

std::shared_ptr<const DecodePlan> Codec::Plan(const std::vector<int>& sources, const std::vector<int>& targets) const {
  std::string key;
  key.reserve((sources.size() + targets.size() + 1) * 2);
  auto put = [&key](int v) {
    key.push_back(static_cast<char>(v & 0xff));
    key.push_back(static_cast<char>(v >> 8));
  };
  for (int s : sources) put(s);
  put(0xffff);  // separator: indices are < 256
  for (int t : targets) put(t);
  {
    std::lock_guard<std::mutex> lock(cacheMutex_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Build outside the lock: inversion is the expensive part and plans are pure functions of the key.
  const int k = k_;
  std::vector<uint8_t> b(static_cast<size_t>(k) * k);
  for (int r = 0; r < k; r++) {
    std::copy_n(&generator_[static_cast<size_t>(sources[r]) * k], k, &b[static_cast<size_t>(r) * k]);
  }
  const bool invertible = gf::Invert(b, k);
  SV_ASSERT(invertible);  // every k x k sub-matrix of a Cauchy generator is invertible (MDS)
  std::vector<uint8_t> coef(targets.size() * k, 0);
  for (size_t i = 0; i < targets.size(); i++) {
    const int t = targets[i];
    uint8_t* row = &coef[i * k];
    if (t < k) {
      std::copy_n(&b[static_cast<size_t>(t) * k], k, row);
    } else {
      // Parity row times the decode matrix: expresses parity t directly over the surviving shards.
      const uint8_t* g = &generator_[static_cast<size_t>(t) * k];
      for (int j = 0; j < k; j++) {
        uint8_t acc = 0;
        for (int x = 0; x < k; x++) acc ^= gf::Mul(g[x], b[static_cast<size_t>(x) * k + j]);
        row[j] = acc;
      }
    }
  }
  auto plan = std::make_shared<DecodePlan>();
  plan->sources = sources;
  plan->targets = targets;
  plan->tables = gf::MakeTables(coef.data(), static_cast<int>(targets.size()), k);

  std::lock_guard<std::mutex> lock(cacheMutex_);
  auto it = index_.find(key);
  if (it != index_.end()) return it->second->second;  // another thread built it meanwhile
  lru_.emplace_front(key, plan);
  index_[key] = lru_.begin();
  if (lru_.size() > kPlanCacheEntriesMax) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return plan;
}

bool Codec::Reconstruct(uint8_t* const* shards, const bool* present, const int* targets, int targetCount,
                        size_t len, std::string* err) const {
  std::vector<int> sources;
  sources.reserve(k_);
  for (int i = 0; i < k_ + m_ && static_cast<int>(sources.size()) < k_; i++) {
    if (present[i]) sources.push_back(i);
  }
  if (static_cast<int>(sources.size()) < k_) {
    *err = "fewer than k shards are present";
    return false;
  }
  if (targetCount == 0) return true;
  std::vector<int> want(targets, targets + targetCount);
  for (int t : want) SV_ASSERT(t >= 0 && t < k_ + m_ && !present[t]);
  ReconstructWith(*Plan(sources, want), shards, len);
  return true;
}

void Codec::ReconstructWith(const DecodePlan& plan, uint8_t* const* shards, size_t len) const {
  SV_ASSERT(static_cast<int>(plan.sources.size()) == k_ && plan.tables.k == k_);
  const uint8_t* src[256];
  uint8_t* dst[256];
  for (int j = 0; j < k_; j++) src[j] = shards[plan.sources[j]];
  for (size_t i = 0; i < plan.targets.size(); i++) dst[i] = shards[plan.targets[i]];
  Run(plan.tables, src, dst, len);
}

size_t Codec::planCacheSize() const {
  std::lock_guard<std::mutex> lock(cacheMutex_);
  return lru_.size();
}

}  // namespace sv::ec
