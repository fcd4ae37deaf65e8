// Static limits shared by C++ and TypeScript. N.B. lib/limits.ts mirrors these values and
// test/limits.test.ts checks that the addon reports the same numbers: change both together.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sv {

// GF(2^8) Reed-Solomon: a systematic Cauchy code is MDS for k + m <= 256 (256 distinct field elements).
constexpr int kShardCountTotalMax = 256;
// Cauchy rows are indexed k..k+m-1 and columns 0..k-1, all distinct field elements, hence k + m <= 256.
constexpr int kShardCountDataMax = 256;    // k >= 1 (m = 0 is a valid, copy-free code)
constexpr int kShardCountParityMax = 255;  // k >= 1, so m <= 255
static_assert(kShardCountDataMax <= kShardCountTotalMax, "k must fit in the field");
static_assert(1 + kShardCountParityMax <= kShardCountTotalMax, "k + m must fit in the field");

// Largest shard (one block of one shard) a single codec call accepts: 1 GiB. Larger objects are cut into
// stripes by the engine, so this only bounds a single call's arithmetic (I7).
constexpr uint64_t kShardSizeBytesMax = 1ull << 30;

// BLAKE3 output and key sizes (BLAKE3 spec, section 2).
constexpr size_t kBlake3OutBytes = 32;
constexpr size_t kBlake3KeyBytes = 32;

}  // namespace sv
