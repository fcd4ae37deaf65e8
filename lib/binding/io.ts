/** Types of the native durable I/O functions (native/napi/napi_io.cc). */
declare const writerBrand: unique symbol;
export type WriterHandle = { readonly [writerBrand]: true };

export interface WriterState {
  written: number;
  lost: boolean;
  durable: boolean;
  tmpPath: string;
  finalPath: string;
}

export interface IoBinding {
  ioStat(path: string): { dev: number; ino: number };
  ioWriterOpen(dir: string, name: string, expectDev: number, direct?: boolean): Promise<WriterHandle>;
  ioWriterAppend(handle: WriterHandle, data: Uint8Array): Promise<void>;
  ioWriterPwrite(handle: WriterHandle, data: Uint8Array, offset: number): Promise<void>;
  ioWriterSeal(handle: WriterHandle, replace: boolean): Promise<void>;
  ioWriterAbort(handle: WriterHandle): Promise<void>;
  ioWriterState(handle: WriterHandle): WriterState;
  ioReadRange(
    path: string,
    offset: number,
    length: number,
    blockBytes: number,
    expected?: Uint8Array,
  ): Promise<{ data: Buffer; ok?: Buffer }>;
  ioFsyncDir(dir: string): Promise<void>;
}
