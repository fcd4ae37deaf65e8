// A Reed-Solomon codec for one (k, m): systematic Cauchy generator (ISA-L gf_gen_cauchy1_matrix), encode,
// and reconstruct of any targets from any k present shards, with decode plans cached per erasure pattern.
// N-API free; arguments are validated by the binding before they get here (asserts re-check invariants).
// A Codec is immutable apart from its mutex-protected plan cache: Encode and Reconstruct may run on any
// number of threads at once (the fused encode+hash op calls Encode from the libuv pool).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ec/ec_kernels.h"
#include "ec/gf.h"

namespace sv::ec {

struct DecodePlan {
  std::vector<int> sources;  // k present shard indices, ascending
  std::vector<int> targets;  // shard indices to rebuild, in output order
  gf::CoefTables tables;     // targets.size() x k coefficients over `sources`
};

class Codec {
 public:
  static std::shared_ptr<Codec> Create(int k, int m, Kernel kernel);

  int k() const { return k_; }
  int m() const { return m_; }
  Kernel kernel() const { return kernel_; }

  // parity[0..m) = generator rows k..k+m-1 times data[0..k), `len` bytes per shard. m == 0: nothing.
  void Encode(const uint8_t* const* data, uint8_t* const* parity, size_t len) const;

  // Rebuilds shards[targets[i]] from the first k shards with present[i] set. Targets must not be present.
  // Returns false (err set) only if fewer than k shards are present; the binding checks this first.
  bool Reconstruct(uint8_t* const* shards, const bool* present, const int* targets, int targetCount, size_t len,
                   std::string* err) const;

  // The decode plan that rebuilds `targets` from the k shards `sources` (ascending, distinct, none a
  // target): built once per erasure pattern, cached, and shared by Reconstruct and ReconstructWith.
  std::shared_ptr<const DecodePlan> Plan(const std::vector<int>& sources, const std::vector<int>& targets) const;

  // Applies `plan` (made by this codec's Plan) to shards[0..k+m): rebuilds its targets from its sources.
  void ReconstructWith(const DecodePlan& plan, uint8_t* const* shards, size_t len) const;

  // Bounded LRU of decode plans (C(k+m, k) patterns are possible; 16x16 inversion costs ~12 us).
  static constexpr size_t kPlanCacheEntriesMax = 128;
  size_t planCacheSize() const;

 private:
  Codec(int k, int m, Kernel kernel);
  // Runs `fn` over [0, len) in column chunks so k sources plus `rows` outputs stay within ~512 KiB of L2.
  // N.B. Chunking never changes a byte: Reed-Solomon over GF(2^8) is byte-column separable.
  void Run(const gf::CoefTables& t, const uint8_t* const* src, uint8_t* const* dst, size_t len) const;

  const int k_;
  const int m_;
  const Kernel kernel_;
  const DotFn fn_;
  std::vector<uint8_t> generator_;  // (k + m) x k
  gf::CoefTables parity_;

  mutable std::mutex cacheMutex_;
  mutable std::list<std::pair<std::string, std::shared_ptr<const DecodePlan>>> lru_;
  mutable std::unordered_map<std::string, decltype(lru_)::iterator> index_;
};

}  // namespace sv::ec
