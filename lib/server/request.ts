/**
 * From a request line to an S3 operation: which bucket and key (path-style `/bucket/key`, or virtual-host
 * style `bucket.<domain>` when a domain is configured), the query (bounded in count), and the operation name
 * (S3's, e.g. 'PutObject'), which also names the action the policy checks. Pure: no I/O, no auth.
 */
import { S3Error } from './s3-error.js';

export interface Target {
  bucket?: string;
  key?: string;
  /** Decoded query parameters (first value of each name; a repeated name is refused). */
  query: Map<string, string>;
  /** The path as sent (still percent-encoded), for the Resource of an error. */
  rawPath: string;
}

/** Sub-resources S3 has and we do not implement: a request naming one is NotImplemented, never served as a plain GET/PUT. */
const UNSUPPORTED_SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'encryption', 'intelligent-tiering', 'inventory', 'legal-hold',
  'lifecycle', 'logging', 'metadataConfiguration', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'policy',
  'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention', 'select', 'session',
  'tagging', 'torrent', 'versioning', 'versions', 'website', 'renameObject',
]);

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', 400, `Couldn't parse the specified URI: ${what} has a malformed percent-encoding.`);
  }
}

export function parseTarget(url: string, host: string | undefined, opts: { domain?: string; queryParamsMax: number }): Target {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
  const query = new Map<string, string>();
  if (rawQuery.length > 0) {
    const parts = rawQuery.split('&');
    if (parts.length > opts.queryParamsMax) throw new S3Error('InvalidArgument', 400, `The request has more than ${opts.queryParamsMax} query parameters.`);
    for (const p of parts) {
      if (p.length === 0) continue;
      const eq = p.indexOf('=');
      const name = decode((eq === -1 ? p : p.slice(0, eq)).replace(/\+/g, ' '), 'the query');
      const value = eq === -1 ? '' : decode(p.slice(eq + 1).replace(/\+/g, ' '), 'the query');
      if (query.has(name)) throw new S3Error('InvalidArgument', 400, `The query parameter ${name} is given more than once.`, { extra: { ArgumentName: name } });
      query.set(name, value);
    }
  }
  let bucket: string | undefined;
  let keyPath: string;
  const hostName = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  const domain = opts.domain?.toLowerCase();
  if (domain !== undefined && domain.length > 0 && hostName.endsWith(`.${domain}`)) {
    bucket = hostName.slice(0, -(domain.length + 1));
    keyPath = rawPath.slice(1);
  } else {
    const slash = rawPath.indexOf('/', 1);
    const first = slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash);
    if (first.length > 0) bucket = decode(first, 'the bucket');
    keyPath = slash === -1 ? '' : rawPath.slice(slash + 1);
  }
  const key = keyPath.length > 0 ? decode(keyPath, 'the key') : undefined;
  return { ...(bucket !== undefined ? { bucket } : {}), ...(key !== undefined ? { key } : {}), query, rawPath };
}

/** The S3 operation for method + target + the copy-source header, or an S3Error (NotImplemented, MethodNotAllowed). */
export function operationOf(method: string, t: Target, hasCopySource: boolean): string {
  for (const name of t.query.keys()) {
    if (UNSUPPORTED_SUBRESOURCES.has(name)) throw new S3Error('NotImplemented', 501, `The ${name} sub-resource is not implemented by ShardVault.`);
  }
  const q = t.query;
  if (t.bucket === undefined) {
    if (method === 'GET') return 'ListBuckets';
    throw new S3Error('MethodNotAllowed', 405, `The ${method} method is not allowed against the service.`, { headers: { Allow: 'GET' } });
  }
  if (t.key === undefined) {
    switch (method) {
      case 'GET':
        if (q.has('location')) return 'GetBucketLocation';
        if (q.has('uploads')) return 'ListMultipartUploads';
        if (q.get('list-type') === '2') return 'ListObjectsV2';
        if (q.has('list-type')) throw new S3Error('InvalidArgument', 400, 'list-type must be 2.', { extra: { ArgumentName: 'list-type' } });
        return 'ListObjects';
      case 'HEAD': return 'HeadBucket';
      case 'PUT': return 'CreateBucket';
      case 'DELETE': return 'DeleteBucket';
      case 'POST':
        if (q.has('delete')) return 'DeleteObjects';
        throw new S3Error('NotImplemented', 501, 'This POST request on a bucket is not implemented by ShardVault (browser-based POST uploads are not supported).');
      default:
        throw new S3Error('MethodNotAllowed', 405, `The ${method} method is not allowed against a bucket.`);
    }
  }
  switch (method) {
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) return hasCopySource ? 'UploadPartCopy' : 'UploadPart';
      return hasCopySource ? 'CopyObject' : 'PutObject';
    case 'GET':
      if (q.has('uploadId')) return 'ListParts';
      return 'GetObject';
    case 'HEAD': return 'HeadObject';
    case 'DELETE':
      if (q.has('uploadId')) return 'AbortMultipartUpload';
      return 'DeleteObject';
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      throw new S3Error('NotImplemented', 501, 'This POST request on an object is not implemented by ShardVault.');
    default:
      throw new S3Error('MethodNotAllowed', 405, `The ${method} method is not allowed against an object.`);
  }
}

/** The policy action an operation needs (the object/bucket it applies to is the request's). */
export const ACTION_OF: Record<string, string> = {
  ListBuckets: 's3:ListAllMyBuckets',
  CreateBucket: 's3:CreateBucket',
  DeleteBucket: 's3:DeleteBucket',
  HeadBucket: 's3:ListBucket',
  GetBucketLocation: 's3:GetBucketLocation',
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  PutObject: 's3:PutObject',
  CopyObject: 's3:PutObject',
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  DeleteObject: 's3:DeleteObject',
  DeleteObjects: 's3:DeleteObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  UploadPartCopy: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  ListParts: 's3:ListMultipartUploadParts',
};
