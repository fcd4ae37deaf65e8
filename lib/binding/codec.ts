/** Types of the native codec functions (native/napi_codec.cc). Placeholder until that binding lands. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface CodecBinding {}
