import { describe, expect, it } from 'vitest';

import { LIMITS } from '../lib/limits.js';
import { native, nativeUnavailableReason } from '../lib/native.js';

describe('limits shared by C++ and TypeScript', () => {
  const addon = native();
  it.skipIf(addon === null)(`agree with the addon${addon === null ? ` (skipped: ${nativeUnavailableReason()})` : ''}`, () => {
    expect(addon!.SHARD_COUNT_TOTAL_MAX).toBe(LIMITS.shardCountTotalMax);
    expect(addon!.SHARD_SIZE_BYTES_MAX).toBe(LIMITS.shardSizeBytesMax);
    expect(addon!.BLAKE3_OUT_BYTES).toBe(LIMITS.blake3OutBytes);
  });
});
