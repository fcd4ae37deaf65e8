/** What the addon is doing on this machine: whether it loaded, why not, and the kernels it chose. */
import { cpus } from 'node:os';

import { native, nativeUnavailableReason } from './native.js';

export interface NativeInfo {
  loaded: boolean;
  /** Why the addon is unavailable, or null. */
  reason: string | null;
  cpu: string;
  node: string;
  codec: { supported: string[]; chosen: string; best: string; error?: string } | null;
  blake3: { supported: string[]; chosen: string } | null;
  /** CRC32 / CRC32C / CRC64NVME kernel (lib/checksum.ts); error: SHARDVAULT_CRC_KERNEL is invalid. */
  crc: { supported: string[]; chosen: string; best: string; error?: string } | null;
}

export function nativeInfo(): NativeInfo {
  const addon = native();
  const info: NativeInfo = {
    loaded: addon !== null,
    reason: nativeUnavailableReason(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    codec: null,
    blake3: null,
    crc: null,
  };
  if (addon === null) return info;
  info.codec = addon.codecKernels();
  const b3 = (addon as unknown as { blake3Kernels?: () => { supported: string[]; chosen: string } }).blake3Kernels;
  if (typeof b3 === 'function') info.blake3 = b3();
  if (typeof addon.crcKernels === 'function') info.crc = addon.crcKernels();
  return info;
}
