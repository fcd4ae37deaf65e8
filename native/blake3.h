// BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs), written from the specification.
// Contract used by the rest of the addon (shard_io.cc verifies blocks with Hash; the fused stripe op hashes
// every block). The implementation (blake3.cc, blake3_portable.cc, per-ISA hash_many files, dispatch) may add
// to this header but must keep these signatures.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sv::blake3 {

constexpr size_t kOutBytes = 32;
constexpr size_t kKeyBytes = 32;
constexpr size_t kBlockBytes = 64;
constexpr size_t kChunkBytes = 1024;

// One-shot hash (default mode). Thread-safe; no allocation. `data` may be null when len == 0.
void Hash(const uint8_t* data, size_t len, uint8_t out[kOutBytes]);

// One-shot keyed hash (keyed_hash mode).
void HashKeyed(const uint8_t key[kKeyBytes], const uint8_t* data, size_t len, uint8_t out[kOutBytes]);

}  // namespace sv::blake3
