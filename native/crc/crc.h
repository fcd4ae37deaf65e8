// CRC32 (ISO-HDLC, as zlib and S3's `crc32`), CRC32C (Castagnoli) and CRC-64/NVME (S3's `crc64nvme`): the
// flexible checksums S3 clients send on every upload. All three are reflected CRCs with init and xorout all
// ones; Update*(prev, data) continues a finished value exactly as zlib's crc32(prev, data) does, so a stream
// can be checksummed chunk by chunk. Every kernel returns the same value as the slicing-by-8 table kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sv::crc {

enum class Algo : int { kCrc32 = 0, kCrc32c, kCrc64Nvme, kCount };

// table: portable slicing-by-8, everywhere. pclmul: x86 PCLMULQDQ folding for all three. sse42: pclmul plus
// the SSE4.2 crc32 instruction (3 streams interleaved) for CRC32C. vpclmul256: VPCLMULQDQ folding on AVX2
// registers, eight 256-bit accumulators. vpclmul512: the same on AVX-512, four 512-bit accumulators. armcrc:
// the aarch64 CRC extension alone (CRC32, CRC32C; table for CRC-64), for cores without PMULL. pmull: aarch64
// PMULL folding for all three, with the CRC extension for the CRC32/CRC32C reductions and short inputs.
enum class Kernel : int { kTable = 0, kPclmul, kSse42, kVpclmul256, kVpclmul512, kArmCrc, kPmull, kCount };

const char* KernelName(Kernel k);
bool KernelSupported(Kernel k);
Kernel BestKernel();
// A kernel requested by name: false with `err` set when unknown or unsupported here.
bool ResolveKernel(const std::string& name, Kernel* out, std::string* err);
// SHARDVAULT_CRC_KERNEL when set and non-empty (validated), else the best kernel.
bool DefaultKernel(Kernel* out, std::string* err);
// The kernel DefaultKernel picked at first use (the table kernel when the variable is invalid; the binding
// reports that error instead of computing).
Kernel ActiveKernel();

// The finished CRC of `prev`'s message followed by data[0, len). prev = 0 starts a new message.
uint32_t Crc32(uint32_t prev, const uint8_t* data, size_t len, Kernel k);
uint32_t Crc32c(uint32_t prev, const uint8_t* data, size_t len, Kernel k);
uint64_t Crc64Nvme(uint64_t prev, const uint8_t* data, size_t len, Kernel k);

// The finished CRC of A followed by B from the finished CRCs of A and of B and B's length (zlib's
// crc32_combine): how a multipart upload's full-object CRC is made from its parts' CRCs without their bytes.
// O(log lenB) carry-less multiplications mod P, no data.
uint64_t Combine(Algo a, uint64_t crcA, uint64_t crcB, uint64_t lenB);

}  // namespace sv::crc
