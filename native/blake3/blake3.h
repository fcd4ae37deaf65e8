// BLAKE3, written from the specification (BLAKE3-team/BLAKE3-specs): hash, keyed_hash and derive_key
// modes, 32-byte output, an incremental hasher, and hash_many kernels per ISA (portable, SSE4.1, AVX2,
// AVX-512, NEON) chosen once per process. shard_io.cc verifies blocks with Hash; the fused stripe op hashes
// every block of a stripe. All functions are thread-safe and allocation-free.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sv::blake3 {

constexpr size_t kOutBytes = 32;
constexpr size_t kKeyBytes = 32;
constexpr size_t kBlockBytes = 64;
constexpr size_t kChunkBytes = 1024;

enum Flags : uint8_t {
  kChunkStart = 1,
  kChunkEnd = 2,
  kParent = 4,
  kRoot = 8,
  kKeyedHash = 16,
  kDeriveKeyContext = 32,
  kDeriveKeyMaterial = 64,
};

extern const uint32_t kIv[8];

// One-shot hash (default mode). `data` may be null when len == 0.
void Hash(const uint8_t* data, size_t len, uint8_t out[kOutBytes]);
// One-shot keyed hash (keyed_hash mode).
void HashKeyed(const uint8_t key[kKeyBytes], const uint8_t* data, size_t len, uint8_t out[kOutBytes]);
// derive_key mode: 32 bytes of key material derived from `context` (a hard-coded, unique string).
void DeriveKey(const char* context, size_t contextLen, const uint8_t* material, size_t len, uint8_t out[kOutBytes]);

// Incremental hasher: Update any number of times, then Finalize (the hasher may keep being updated after).
class Hasher {
 public:
  Hasher();                                   // hash mode
  explicit Hasher(const uint8_t key[kKeyBytes]);  // keyed_hash mode
  static Hasher ForDeriveKey(const char* context, size_t contextLen);
  void Update(const uint8_t* data, size_t len);
  void Finalize(uint8_t out[kOutBytes]) const;
  // Kernel for whole-chunk bulk hashing (an index into blake3_impl.h's Kernel); default: the active one.
  void SetKernel(int kernel);

  // Hashes `count` inputs of `len` bytes each, as a fresh copy of this hasher would hash each one, writing
  // count * 32 bytes. This hasher must not have been updated. Small inputs are hashed across inputs: the
  // hash_many kernel takes one chunk (or one parent) of up to 16 different inputs per call, so a batch of
  // 1-8 KiB blocks fills the vector lanes that a single small input leaves empty (issue 15). Other lengths
  // hash one input at a time. Allocates the batch's chaining values (count * len / 32 bytes at most).
  void HashEqualLength(const uint8_t* const* inputs, size_t count, size_t len, uint8_t* out) const;

 private:
  Hasher(const uint32_t key[8], uint8_t flags);
  // Up to this many whole chunks per bulk step (256 KiB: the cvs and pointers of a batch live on the stack;
  // larger batches leave fewer partly filled parent levels per byte).
  static constexpr size_t kBulkChunksMax = 256;
  void MergeStack(uint64_t totalChunks);
  void PushSubtreeCv(const uint32_t cv[8], uint64_t chunks);
  void HashBulk(const uint8_t* data, size_t chunks, bool mayEnd);

  uint32_t key_[8];
  uint8_t flags_;
  int kernel_;
  // The kernel's single-block compression (blake3_impl.h CompressFn), used for everything not hashed in bulk.
  void (*compress_)(const uint32_t*, const uint8_t*, uint8_t, uint64_t, uint8_t, uint32_t*);
  // Current chunk.
  uint32_t chunkCv_[8];
  uint64_t chunkCounter_;
  uint8_t block_[kBlockBytes];
  uint8_t blockLen_;
  uint8_t blocksCompressed_;
  // Chaining values of completed subtrees: 2^64 bytes are 2^54 chunks, so one CV per set bit of the chunk
  // count is at most 54, plus one pushed lazily (PushSubtreeCv).
  uint32_t cvStack_[55][8];
  uint8_t cvStackLen_;
};

}  // namespace sv::blake3
