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
}
