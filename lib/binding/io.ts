/** Types of the native io functions (native/napi_io.cc). Placeholder until that binding lands. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface IoBinding {}
