/** Types of the native BLAKE3 functions (native/napi/napi_blake3.cc). */
declare const hasherBrand: unique symbol;
export type Blake3HasherHandle = { readonly [hasherBrand]: true };

export interface Blake3Kernels {
  supported: string[];
  chosen: string;
  best: string;
  error?: string;
}

export interface Blake3Binding {
  blake3Kernels(): Blake3Kernels;
  blake3Sync(data: Uint8Array, key?: Uint8Array, context?: string, kernel?: string): Buffer;
  blake3Async(data: Uint8Array, key?: Uint8Array, context?: string, kernel?: string): Promise<Buffer>;
  blake3BatchSync(blocks: Uint8Array[], key?: Uint8Array, context?: string, kernel?: string): Buffer;
  blake3BatchAsync(blocks: Uint8Array[], key?: Uint8Array, context?: string, kernel?: string): Promise<Buffer>;
  blake3HasherCreate(key?: Uint8Array, context?: string): Blake3HasherHandle;
  blake3HasherUpdate(handle: Blake3HasherHandle, data: Uint8Array): void;
  blake3HasherUpdateAsync(handle: Blake3HasherHandle, chunks: Uint8Array[]): Promise<void>;
  blake3HasherDigest(handle: Blake3HasherHandle): Buffer;
}
