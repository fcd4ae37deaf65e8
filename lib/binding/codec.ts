/** Types of the native codec functions (native/napi/napi_codec.cc). */
declare const codecHandleBrand: unique symbol;
export type CodecHandle = { readonly [codecHandleBrand]: true };
declare const planHandleBrand: unique symbol;
export type PlanHandle = { readonly [planHandleBrand]: true };

export interface CodecKernels {
  supported: string[];
  chosen: string;
  best: string;
  /** Set when SHARDVAULT_KERNEL names an unknown or unsupported kernel. */
  error?: string;
}

export interface CodecBinding {
  codecKernels(): CodecKernels;
  codecCreate(k: number, m: number, kernel?: string): CodecHandle;
  codecInfo(handle: CodecHandle): { k: number; m: number; kernel: string; planCacheSize: number };
  codecEncodeSync(handle: CodecHandle, shards: Uint8Array[]): void;
  /** One contiguous stripe: (k + m) shards of equal length back to back in one Uint8Array. */
  codecEncodeStripeSync(handle: CodecHandle, stripe: Uint8Array): void;
  /** A decode plan for one erasure pattern (checked once), for codecReconstructStripeSync. */
  codecPlan(handle: CodecHandle, present: boolean[], targets: number[]): PlanHandle;
  codecReconstructStripeSync(plan: PlanHandle, stripe: Uint8Array): void;
  codecEncodeAsync(handle: CodecHandle, stripes: Uint8Array[][]): Promise<void>;
  codecReconstructSync(handle: CodecHandle, shards: Uint8Array[], present: boolean[], targets: number[]): void;
  /** Fused encode + BLAKE3 of every block (native/napi/napi_stripe.cc): stripes * (k + m) digests. */
  stripeEncodeHash(handle: CodecHandle, stripes: Uint8Array[][]): Promise<Buffer>;
  codecReconstructAsync(
    handle: CodecHandle,
    stripes: Uint8Array[][],
    present: boolean[],
    targets: number[],
  ): Promise<void>;
}
