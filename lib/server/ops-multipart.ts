// PENDING the engine's multipart API (createUpload/putPart/listParts/listUploads/completeUpload/abortUpload,
// engine part 2, not on main yet): until it lands, every multipart operation is NotImplemented (501), never
// a wrong success. The router already names them and the policy actions are mapped (request.ts).
import type { RequestContext } from './context.js';

export const multipartHandlers: Record<string, (ctx: RequestContext) => Promise<void>> = {};
