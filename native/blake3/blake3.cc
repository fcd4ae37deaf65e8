// BLAKE3 tree hashing (spec section 2.4 onwards): chunk state, the chaining-value stack, and the one-shot
// functions. Whole chunks that are known not to be the last one are hashed many at a time by the active
// hash_many kernel (blake3_dispatch.cc); everything else goes through the portable compression.
#include <algorithm>
#include <cstring>
#include <vector>

#include "blake3/blake3_impl.h"
#include "common/sv_assert.h"

namespace sv::blake3 {
namespace {


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
    : flags_(flags), kernel_(static_cast<int>(ActiveKernel())),
      compress_(KernelCompressFn(ActiveKernel())),
      chunkCounter_(0), blockLen_(0), blocksCompressed_(0), cvStackLen_(0) {
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

void Hasher::MergeStack(uint64_t totalChunks) {
  // Once the stack holds one CV per set bit of totalChunks (complete subtrees of those sizes, largest at the
  // bottom), it is exact; while it holds more, the top two are equal-sized siblings and close one parent.
  // Callers only merge when more input is known to follow, so none of these parents can be the root.
  while (cvStackLen_ > __builtin_popcountll(totalChunks)) {
    uint8_t block[kBlockBytes];
    for (int i = 0; i < 8; i++) {
      Store32(block + 4 * i, cvStack_[cvStackLen_ - 2][i]);
      Store32(block + 32 + 4 * i, cvStack_[cvStackLen_ - 1][i]);
    }
    uint32_t node[8];
    std::memcpy(node, key_, sizeof node);
    compress_(node, block, kBlockBytes, 0, kParent | flags_, node);
    cvStackLen_--;
    std::memcpy(cvStack_[cvStackLen_ - 1], node, sizeof node);
  }
}

void Hasher::PushSubtreeCv(const uint32_t cv[8], uint64_t chunks) {
  // `cv` covers the aligned subtree of `chunks` chunks that starts at chunkCounter_. Merging is lazy: the
  // CVs before it are merged now (it follows them, so those parents are not the root), its own merges wait
  // for the next push or for bytes of a later chunk (MergeStack), because if the input ends here the last
  // merge is the root and belongs to Finalize.
  MergeStack(chunkCounter_);
  SV_ASSERT(cvStackLen_ < 55);
  std::memcpy(cvStack_[cvStackLen_++], cv, 8 * sizeof(uint32_t));
  chunkCounter_ += chunks;
}

void Hasher::HashBulk(const uint8_t* data, size_t chunks, bool mayEnd) {
  // Whole chunks, not the whole input (Update ensures at least two chunks in all), so no chunk in here is the
  // root; a subtree can only be the root if it starts at chunk 0 and the input ends with it (`mayEnd`: this
  // batch runs to the end of the Update's data), and such a subtree is pushed as its two halves so that the
  // root parent is left to Finalize. All chunk CVs come from one hash_many call; then the batch is cut into aligned power-of-two subtrees (each as large as the
  // counter's alignment and the remaining count allow) and all of their parents are reduced level by level,
  // one hash_many call per level for every subtree at once. Before this, a batch that was not one aligned
  // 64-chunk subtree (every 64 KiB input, the tail of every large one) closed its parents one portable
  // compression at a time: 36% of the time at 64 KiB (perf record).
  SV_ASSERT(chunks > 0 && chunks <= kBulkChunksMax);
  const HashManyFn hashMany = KernelFn(static_cast<Kernel>(kernel_));
  const uint8_t* inputs[kBulkChunksMax];
  alignas(64) uint8_t cvs[kBulkChunksMax * kOutBytes];
  for (size_t i = 0; i < chunks; i++) inputs[i] = data + i * kChunkBytes;
  hashMany(inputs, chunks, kChunkBytes / kBlockBytes, key_, chunkCounter_, true, flags_, kChunkStart, kChunkEnd, cvs);

  // Subtree t covers chunks [start[t], start[t] + 2^level[t]) of the batch; its CVs at the current level are
  // kept contiguous at cvs + start[t] * 32.
  // At most two subtrees per bit of the batch size (sizes rise to the alignment, then fall).
  size_t start[32];
  int level[32];
  size_t subtrees = 0;
  int maxLevel = 0;
  for (size_t pos = 0; pos < chunks;) {
    const uint64_t at = chunkCounter_ + pos;
    int k = 63 - __builtin_clzll(static_cast<unsigned long long>(chunks - pos));  // largest that fits
    if (at != 0) k = std::min(k, __builtin_ctzll(at));                          // and keeps it aligned
    if (at == 0 && mayEnd && (size_t{1} << k) == chunks) k--;                   // may be the root: halves
    SV_ASSERT(k >= 0);
    SV_ASSERT(subtrees < 32);
    start[subtrees] = pos;
    level[subtrees] = k;
    subtrees++;
    maxLevel = std::max(maxLevel, k);
    pos += size_t{1} << k;
  }
  alignas(64) uint8_t parents[kBulkChunksMax / 2 * kOutBytes];
  for (int l = 1; l <= maxLevel; l++) {
    // Pairs of this level: every subtree of at least 2^l chunks has 2^(level - l) of them.
    const uint8_t* pairs[kBulkChunksMax / 2];
    size_t n = 0;
    for (size_t t = 0; t < subtrees; t++) {
      if (level[t] < l) continue;
      const size_t count = size_t{1} << (level[t] - l);
      for (size_t i = 0; i < count; i++) pairs[n++] = cvs + (start[t] + 2 * i) * kOutBytes;  // left || right
    }
    hashMany(pairs, n, 1, key_, 0, false, flags_ | kParent, 0, 0, parents);
    n = 0;
    for (size_t t = 0; t < subtrees; t++) {
      if (level[t] < l) continue;
      const size_t count = size_t{1} << (level[t] - l);
      std::memcpy(cvs + start[t] * kOutBytes, parents + n * kOutBytes, count * kOutBytes);
      n += count;
    }
  }
  for (size_t t = 0; t < subtrees; t++) {
    uint32_t cv[8];
    for (int w = 0; w < 8; w++) cv[w] = Load32(cvs + start[t] * kOutBytes + 4 * w);
    PushSubtreeCv(cv, uint64_t{1} << level[t]);
  }
}

void Hasher::Update(const uint8_t* data, size_t len) {
  while (len > 0) {
    const size_t chunkLen = static_cast<size_t>(blocksCompressed_) * kBlockBytes + blockLen_;
    if (chunkLen == kChunkBytes) {
      // The current chunk is complete and more input follows: it is not the root.
      uint32_t cv[8];
      std::memcpy(cv, chunkCv_, sizeof cv);
      compress_(cv, block_, blockLen_, chunkCounter_, flags_ | kChunkEnd, cv);
      PushSubtreeCv(cv, 1);
      std::memcpy(chunkCv_, key_, sizeof key_);
      blockLen_ = 0;
      blocksCompressed_ = 0;
      continue;
    }
    if (chunkLen == 0 && len >= kChunkBytes && (chunkCounter_ > 0 || len > kChunkBytes)) {
      // Whole chunks, and not a lone first chunk (that one may be the root, which needs its last block in
      // Finalize): hash them in parallel, up to the end of the data when it ends on a chunk boundary. (Before,
      // the last chunk always stayed behind for Finalize to compress block by block: 14% of the time at
      // 64 KiB, perf record.)
      const size_t chunks = std::min(len / kChunkBytes, kBulkChunksMax);
      HashBulk(data, chunks, chunks * kChunkBytes == len);
      data += chunks * kChunkBytes;
      len -= chunks * kChunkBytes;
      continue;
    }
    if (chunkLen == 0) {
      // Bytes of a new chunk: whatever the stack still holds unmerged is now known not to be the root, and
      // Finalize expects an exact stack when the current chunk has data.
      MergeStack(chunkCounter_);
    }
    if (blockLen_ == kBlockBytes) {
      // A full block with more input after it in the same chunk: not the chunk's last block.
      compress_(chunkCv_, block_, kBlockBytes, chunkCounter_, flags_ | (blocksCompressed_ == 0 ? kChunkStart : 0),
                chunkCv_);
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
  if (blocksCompressed_ == 0 && blockLen_ == 0 && chunkCounter_ > 0) {
    // The input ended on a chunk boundary after a bulk step: the last subtree is the top of the stack, pushed
    // lazily (at least two entries: a bulk step never pushes the whole input as one subtree). The root is the
    // parent of the top two; then any CVs below it join from the left.
    SV_ASSERT(cvStackLen_ >= 2);
    uint32_t node[8];
    std::memcpy(node, cvStack_[cvStackLen_ - 1], sizeof node);
    for (int i = cvStackLen_ - 2; i >= 0; i--) {
      uint8_t block[kBlockBytes];
      for (int w = 0; w < 8; w++) {
        Store32(block + 4 * w, cvStack_[i][w]);
        Store32(block + 32 + 4 * w, node[w]);
      }
      std::memcpy(node, key_, sizeof node);
      compress_(node, block, kBlockBytes, 0, flags_ | kParent | (i == 0 ? kRoot : 0), node);
    }
    for (int w = 0; w < 8; w++) Store32(out + 4 * w, node[w]);
    return;
  }
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
    compress_(child, block, blockLen, counter, flags, child);
    for (int w = 0; w < 8; w++) {
      Store32(block + 4 * w, cvStack_[i][w]);
      Store32(block + 32 + 4 * w, child[w]);
    }
    std::memcpy(cv, key_, sizeof cv);
    blockLen = kBlockBytes;
    counter = 0;
    flags = flags_ | kParent;
  }
  // The first 32 bytes of the root output are the root compression's CV words.
  uint32_t root[8];
  compress_(cv, block, blockLen, counter, flags | kRoot, root);
  for (int w = 0; w < 8; w++) Store32(out + 4 * w, root[w]);
}

void Hasher::SetKernel(int kernel) {
  SV_ASSERT(kernel >= 0 && kernel < static_cast<int>(Kernel::kCount) && KernelSupported(static_cast<Kernel>(kernel)));
  kernel_ = kernel;
  compress_ = KernelCompressFn(static_cast<Kernel>(kernel));
}

void Hasher::HashEqualLength(const uint8_t* const* inputs, size_t count, size_t len, uint8_t* out) const {
  SV_ASSERT(chunkCounter_ == 0 && blocksCompressed_ == 0 && blockLen_ == 0 && cvStackLen_ == 0);
  const size_t chunks = len / kChunkBytes;
  const bool oneChunk = len > 0 && len <= kChunkBytes && len % kBlockBytes == 0;
  // Across inputs only while an input alone cannot fill the lanes (8 KiB is 8 chunks), and only for whole
  // blocks in one chunk or a power-of-two number of whole chunks (a full binary tree per input).
  const bool tree = len % kChunkBytes == 0 && chunks >= 2 && chunks <= 8 && (chunks & (chunks - 1)) == 0;
  if (count < 2 || !(oneChunk || tree)) {
    for (size_t i = 0; i < count; i++) {
      Hasher h = *this;
      h.Update(inputs[i], len);
      h.Finalize(out + i * kOutBytes);
    }
    return;
  }
  const HashManyFn hashMany = KernelFn(static_cast<Kernel>(kernel_));
  if (oneChunk) {
    // Each input is its own root chunk: CHUNK_START on its first block, CHUNK_END | ROOT on its last; the
    // root output's first 32 bytes are the CV words the kernel writes.
    hashMany(inputs, count, len / kBlockBytes, key_, 0, false, flags_, kChunkStart, kChunkEnd | kRoot, out);
    return;
  }
  // Leaves: chunk c of every input, with counter c. cvs[i * n + c] so that sibling CVs of one input sit next to
  // each other: the 64 bytes of two siblings are the parent's block, read in place.
  std::vector<uint8_t> cvs(count * chunks * kOutBytes), leaf(count * kOutBytes);
  std::vector<const uint8_t*> ptrs(count * chunks);
  for (size_t c = 0; c < chunks; c++) {
    for (size_t i = 0; i < count; i++) ptrs[i] = inputs[i] + c * kChunkBytes;
    hashMany(ptrs.data(), count, kChunkBytes / kBlockBytes, key_, c, false, flags_, kChunkStart, kChunkEnd, leaf.data());
    for (size_t i = 0; i < count; i++) std::memcpy(&cvs[(i * chunks + c) * kOutBytes], &leaf[i * kOutBytes], kOutBytes);
  }
  // Parents, level by level: n nodes per input become n / 2; the last level is the root.
  std::vector<uint8_t> next(count * chunks / 2 * kOutBytes);
  for (size_t n = chunks; n >= 2; n /= 2) {
    const size_t parents = count * (n / 2);
    for (size_t j = 0; j < parents; j++) ptrs[j] = &cvs[j * 2 * kOutBytes];
    const bool root = n == 2;
    hashMany(ptrs.data(), parents, 1, key_, 0, false, flags_ | kParent | (root ? kRoot : 0), 0, 0, root ? out : next.data());
    if (!root) std::memcpy(cvs.data(), next.data(), parents * kOutBytes);
  }
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
