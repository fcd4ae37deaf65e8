// BLAKE3 tree hashing (spec section 2.4 onwards): chunk state, the chaining-value stack, and the one-shot
// functions. Whole chunks that are known not to be the last one are hashed many at a time by the active
// hash_many kernel (blake3_dispatch.cc); everything else goes through the portable compression.
#include <algorithm>
#include <cstring>

#include "blake3_impl.h"
#include "sv_assert.h"

namespace sv::blake3 {
namespace {

// Up to this many chunks per hash_many call (16 lanes x 4 groups keeps pointers on the stack).
constexpr size_t kBulkChunksMax = 64;

void WordsFromKey(const uint8_t key[kKeyBytes], uint32_t out[8]) {
  for (int i = 0; i < 8; i++) out[i] = Load32(key + 4 * i);
}

}  // namespace

Hasher::Hasher() : Hasher(kIv, 0) {}

Hasher::Hasher(const uint8_t key[kKeyBytes]) : Hasher(kIv, kKeyedHash) {
  WordsFromKey(key, key_);
  std::memcpy(chunkCv_, key_, sizeof key_);
}

Hasher::Hasher(const uint32_t key[8], uint8_t flags)
    : flags_(flags), kernel_(static_cast<int>(ActiveKernel())), chunkCounter_(0), blockLen_(0), blocksCompressed_(0), cvStackLen_(0) {
  std::memcpy(key_, key, sizeof key_);
  std::memcpy(chunkCv_, key_, sizeof key_);
  std::memset(block_, 0, sizeof block_);
}

Hasher Hasher::ForDeriveKey(const char* context, size_t contextLen) {
  Hasher contextHasher(kIv, kDeriveKeyContext);
  contextHasher.Update(reinterpret_cast<const uint8_t*>(context), contextLen);
  uint8_t contextKey[kKeyBytes];
  contextHasher.Finalize(contextKey);
  uint32_t words[8];
  WordsFromKey(contextKey, words);
  return Hasher(words, kDeriveKeyMaterial);
}

void Hasher::PushSubtreeCv(const uint32_t cv[8], uint64_t totalUnits) {
  // `cv` covers one unit (a chunk, or an aligned subtree of 2^j chunks) and `totalUnits` counts units so far.
  // Every trailing zero bit of that count closes one parent. This only runs when more input follows, so none
  // of these parents can be the root.
  uint32_t node[8];
  std::memcpy(node, cv, sizeof node);
  while ((totalUnits & 1) == 0) {
    SV_ASSERT(cvStackLen_ > 0);
    uint8_t block[kBlockBytes];
    cvStackLen_--;
    for (int i = 0; i < 8; i++) {
      Store32(block + 4 * i, cvStack_[cvStackLen_][i]);
      Store32(block + 32 + 4 * i, node[i]);
    }
    std::memcpy(node, key_, sizeof node);
    CompressInPlace(node, block, kBlockBytes, 0, kParent | flags_);
    totalUnits >>= 1;
  }
  SV_ASSERT(cvStackLen_ < 54);
  std::memcpy(cvStack_[cvStackLen_++], node, sizeof node);
}

void Hasher::Update(const uint8_t* data, size_t len) {
  while (len > 0) {
    const size_t chunkLen = static_cast<size_t>(blocksCompressed_) * kBlockBytes + blockLen_;
    if (chunkLen == kChunkBytes) {
      // The current chunk is complete and more input follows: it is not the root.
      uint32_t cv[8];
      std::memcpy(cv, chunkCv_, sizeof cv);
      CompressInPlace(cv, block_, blockLen_, chunkCounter_, flags_ | kChunkEnd);
      chunkCounter_++;
      PushSubtreeCv(cv, chunkCounter_);
      std::memcpy(chunkCv_, key_, sizeof key_);
      blockLen_ = 0;
      blocksCompressed_ = 0;
      continue;
    }
    if (chunkLen == 0 && len > kChunkBytes) {
      // Whole chunks with input after them: hash them in parallel.
      const size_t chunks = std::min((len - 1) / kChunkBytes, kBulkChunksMax);
      const uint8_t* inputs[kBulkChunksMax];
      uint8_t cvs[kBulkChunksMax * kOutBytes];
      for (size_t i = 0; i < chunks; i++) inputs[i] = data + i * kChunkBytes;
      KernelFn(static_cast<Kernel>(kernel_))(inputs, chunks, kChunkBytes / kBlockBytes, key_, chunkCounter_, true, flags_,
                               kChunkStart, kChunkEnd, cvs);
      if (chunks == kBulkChunksMax && chunkCounter_ % kBulkChunksMax == 0) {
        // A whole aligned subtree of 64 chunks: reduce its parents level by level with hash_many as well
        // (otherwise the 63 parent compressions, done one at a time, cost about a third of the time).
        uint8_t parents[kBulkChunksMax / 2 * kOutBytes];
        uint8_t* level = cvs;
        size_t n = chunks;
        while (n > 1) {
          const uint8_t* pairs[kBulkChunksMax / 2];
          for (size_t i = 0; i < n / 2; i++) pairs[i] = level + i * 2 * kOutBytes;  // left || right, 64 bytes
          KernelFn(static_cast<Kernel>(kernel_))(pairs, n / 2, 1, key_, 0, false, flags_ | kParent, 0, 0, parents);
          std::memcpy(cvs, parents, n / 2 * kOutBytes);
          level = cvs;
          n /= 2;
        }
        uint32_t cv[8];
        for (int w = 0; w < 8; w++) cv[w] = Load32(cvs + 4 * w);
        chunkCounter_ += chunks;
        PushSubtreeCv(cv, chunkCounter_ / kBulkChunksMax);
      } else {
        for (size_t i = 0; i < chunks; i++) {
          uint32_t cv[8];
          for (int w = 0; w < 8; w++) cv[w] = Load32(cvs + i * kOutBytes + 4 * w);
          chunkCounter_++;
          PushSubtreeCv(cv, chunkCounter_);
        }
      }
      data += chunks * kChunkBytes;
      len -= chunks * kChunkBytes;
      continue;
    }
    if (blockLen_ == kBlockBytes) {
      // A full block with more input after it in the same chunk: not the chunk's last block.
      CompressInPlace(chunkCv_, block_, kBlockBytes, chunkCounter_,
                      flags_ | (blocksCompressed_ == 0 ? kChunkStart : 0));
      blocksCompressed_++;
      blockLen_ = 0;
    }
    const size_t take = std::min(kBlockBytes - blockLen_, len);
    std::memcpy(block_ + blockLen_, data, take);
    blockLen_ = static_cast<uint8_t>(blockLen_ + take);
    data += take;
    len -= take;
  }
}

void Hasher::Finalize(uint8_t out[kOutBytes]) const {
  // The output node starts as the current chunk's last block and climbs the stack as parents.
  uint32_t cv[8];
  std::memcpy(cv, chunkCv_, sizeof cv);
  uint8_t block[kBlockBytes] = {0};
  std::memcpy(block, block_, blockLen_);
  uint8_t blockLen = blockLen_;
  uint64_t counter = chunkCounter_;
  uint8_t flags = flags_ | kChunkEnd | (blocksCompressed_ == 0 ? kChunkStart : 0);
  for (int i = cvStackLen_ - 1; i >= 0; i--) {
    uint32_t child[8];
    std::memcpy(child, cv, sizeof child);
    CompressInPlace(child, block, blockLen, counter, flags);
    for (int w = 0; w < 8; w++) {
      Store32(block + 4 * w, cvStack_[i][w]);
      Store32(block + 32 + 4 * w, child[w]);
    }
    std::memcpy(cv, key_, sizeof cv);
    blockLen = kBlockBytes;
    counter = 0;
    flags = flags_ | kParent;
  }
  uint32_t state[16];
  CompressState(cv, block, blockLen, counter, flags | kRoot, state);
  for (int w = 0; w < 8; w++) Store32(out + 4 * w, state[w] ^ state[w + 8]);
}

void Hasher::SetKernel(int kernel) {
  SV_ASSERT(kernel >= 0 && kernel < static_cast<int>(Kernel::kCount) && KernelSupported(static_cast<Kernel>(kernel)));
  kernel_ = kernel;
}

void Hash(const uint8_t* data, size_t len, uint8_t out[kOutBytes]) {
  Hasher h;
  h.Update(data, len);
  h.Finalize(out);
}

void HashKeyed(const uint8_t key[kKeyBytes], const uint8_t* data, size_t len, uint8_t out[kOutBytes]) {
  Hasher h(key);
  h.Update(data, len);
  h.Finalize(out);
}

void DeriveKey(const char* context, size_t contextLen, const uint8_t* material, size_t len, uint8_t out[kOutBytes]) {
  Hasher h = Hasher::ForDeriveKey(context, contextLen);
  h.Update(material, len);
  h.Finalize(out);
}

}  // namespace sv::blake3
