/** Types of the native CRC functions (native/napi/napi_crc.cc). */
export interface CrcKernels {
  supported: string[];
  chosen: string;
  best: string;
  /** Set when SHARDVAULT_CRC_KERNEL names an unknown or unsupported kernel (every CRC call then throws). */
  error?: string;
}

export interface CrcBinding {
  crcKernels(): CrcKernels;
  /** The finished CRC32 of prev's message followed by data (prev 0 or absent: a new message). */
  crc32(data: Uint8Array, prev?: number, kernel?: string): number;
  crc32c(data: Uint8Array, prev?: number, kernel?: string): number;
  crc64nvme(data: Uint8Array, prev?: bigint, kernel?: string): bigint;
  /** crc(A then B) from crc(A), crc(B) and B's length in bytes (zlib's crc32_combine). */
  crc32Combine(crcA: number, crcB: number, lengthB: number): number;
  crc32cCombine(crcA: number, crcB: number, lengthB: number): number;
  crc64nvmeCombine(crcA: bigint, crcB: bigint, lengthB: number): bigint;
}
