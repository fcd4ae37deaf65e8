/** Types of the native blake3 functions (native/napi_blake3.cc). Placeholder until that binding lands. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Blake3Binding {}
