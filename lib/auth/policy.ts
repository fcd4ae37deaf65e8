/**
 * IAM-style identity policies, deny by default (DESIGN.md §7, issue 12 "Policies").
 *
 *   { "Version": "2012-10-17", "Statement": [ { "Sid"?: "...", "Effect": "Allow" | "Deny",
 *     "Action": "s3:GetObject" | ["s3:Get*", ...], "Resource": "arn:aws:s3:::bucket/prefix*" | [...] } ] }
 *
 * Evaluation: an explicit Deny that matches wins; else an Allow that matches allows; else implicit deny.
 * A principal without a policy can do nothing; admin principals can do everything, including the admin API
 * (`sv:Admin`), which a policy can never grant. Parsing is strict: unknown keys, Condition, NotAction,
 * NotResource and Principal are refused with the path of the field, because silently ignoring a condition
 * would grant more than the author meant.
 *
 * Wildcards `*` (any run, including '/') and `?` (one character) are matched without regular expressions
 * (linear-time two-pointer match, so a hostile pattern cannot backtrack exponentially).
 */
import { authErrors } from './errors.js';

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
}
export type Policy = { Version: '2012-10-17'; Statement: Statement[] };

export const POLICY_LIMITS = {
  documentBytesMax: 20 * 1024,
  statementsMax: 100,
  actionsPerStatementMax: 100,
  resourcesPerStatementMax: 100,
  patternLengthMax: 1100,
} as const;

/** What each S3 action is checked against: the bucket ARN, the object ARN, or the service ('*'). */
export type ActionScope = 'service' | 'bucket' | 'object';

/** The actions ShardVault's S3 surface checks, with the resource each applies to (AWS "Actions, resources, and condition keys for Amazon S3"). */
export const S3_ACTIONS: Readonly<Record<string, ActionScope>> = {
  's3:ListAllMyBuckets': 'service',
  's3:CreateBucket': 'bucket',
  's3:DeleteBucket': 'bucket',
  's3:ListBucket': 'bucket',
  's3:ListBucketMultipartUploads': 'bucket',
  's3:GetBucketLocation': 'bucket',
  's3:GetObject': 'object',
  's3:GetObjectAttributes': 'object',
  's3:PutObject': 'object',
  's3:DeleteObject': 'object',
  's3:AbortMultipartUpload': 'object',
  's3:ListMultipartUploadParts': 'object',
};
export const ADMIN_ACTION = 'sv:Admin';

const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Action', 'Resource']);
const REFUSED_KEYS: Record<string, string> = {
  Condition: 'conditions are not supported (a condition ignored would grant more than meant)',
  NotAction: 'NotAction is not supported',
  NotResource: 'NotResource is not supported',
  Principal: 'identity policies have no Principal (they are attached to one)',
  NotPrincipal: 'identity policies have no NotPrincipal',
};

/** Linear-time glob match: '*' any run, '?' one character. Case-sensitive. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * Pattern positions alive after reading `text` as a prefix (a glob NFA: '*' may match nothing, so its
 * position also enables the next). Empty: no string starting with `text` can match.
 */
function globPrefixStates(pattern: string, text: string): number[] {
  const closure = (set: Set<number>) => {
    for (const p of [...set]) {
      let q = p;
      while (q < pattern.length && pattern[q] === '*') set.add(++q);
    }
    return set;
  };
  let states = closure(new Set([0]));
  for (const ch of text) {
    const next = new Set<number>();
    for (const p of states) {
      if (p >= pattern.length) continue;
      if (pattern[p] === '*') next.add(p);
      else if (pattern[p] === '?' || pattern[p] === ch) next.add(p + 1);
    }
    states = closure(next);
    if (states.size === 0) break;
  }
  return [...states];
}

/** Some string starting with `prefix` matches `pattern`. */
function globCompatiblePrefix(pattern: string, prefix: string): boolean {
  return globPrefixStates(pattern, prefix).length > 0;
}

/** Every string that strictly extends `prefix` matches `pattern` (the rest of the pattern is only stars). */
function globCoversExtensions(pattern: string, prefix: string): boolean {
  return globPrefixStates(pattern, prefix).some((p) => p < pattern.length && /^\*+$/.test(pattern.slice(p)));
}

function actionMatches(pattern: string, action: string): boolean {
  // IAM action names are case-insensitive.
  return globMatch(pattern.toLowerCase(), action.toLowerCase());
}

function asList(v: string | string[]): string[] {
  return typeof v === 'string' ? [v] : v;
}

function parseStringList(value: unknown, path: string, max: number): string | string[] {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) throw authErrors.malformedPolicy(path, 'must be a string or an array of strings');
  if (value.length === 0) throw authErrors.malformedPolicy(path, 'must not be empty');
  if (value.length > max) throw authErrors.malformedPolicy(path, `has more than ${max} entries`);
  value.forEach((v, i) => {
    if (typeof v !== 'string') throw authErrors.malformedPolicy(`${path}[${i}]`, 'must be a string');
  });
  return [...(value as string[])];
}

function checkAction(a: string, path: string): void {
  if (a.length === 0 || a.length > 128) throw authErrors.malformedPolicy(path, 'must be 1-128 characters');
  if (a === '*') return;
  if (/^sv:/i.test(a)) throw authErrors.malformedPolicy(path, `${a} cannot be granted by a policy: admin rights belong to admin keys`);
  if (!/^s3:[A-Za-z*?]+$/.test(a)) throw authErrors.malformedPolicy(path, `'${a.slice(0, 64)}' is not an action like s3:GetObject or s3:Get*`);
  if (!Object.keys(S3_ACTIONS).some((known) => actionMatches(a, known))) {
    throw authErrors.malformedPolicy(path, `'${a.slice(0, 64)}' matches no supported action (${Object.keys(S3_ACTIONS).join(', ')})`);
  }
}

function checkResource(r: string, path: string): void {
  if (r.length === 0 || r.length > POLICY_LIMITS.patternLengthMax) throw authErrors.malformedPolicy(path, 'has a bad length');
  if (r === '*') return;
  if (!r.startsWith('arn:aws:s3:::')) throw authErrors.malformedPolicy(path, `'${r.slice(0, 64)}' must be '*' or start with arn:aws:s3:::`);
  const rest = r.slice('arn:aws:s3:::'.length);
  if (rest.length === 0) throw authErrors.malformedPolicy(path, 'names no bucket');
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (!/^[a-z0-9.\-*?]{1,63}$/.test(bucket)) throw authErrors.malformedPolicy(path, `'${bucket.slice(0, 64)}' is not a bucket name or pattern`);
  if (/[\u0000-\u001f\u007f]/.test(rest)) throw authErrors.malformedPolicy(path, 'contains control characters');
}

/**
 * Validate a policy document (an object, or its JSON text). Throws AuthError MalformedPolicy (status 400)
 * naming the path of the first bad field. The result is a fresh, normalised object (Statement always an array).
 */
export function parsePolicy(json: unknown): Policy {
  let doc = json;
  if (typeof json === 'string') {
    if (Buffer.byteLength(json, 'utf8') > POLICY_LIMITS.documentBytesMax) {
      throw authErrors.malformedPolicy('$', `the policy is larger than ${POLICY_LIMITS.documentBytesMax} bytes`);
    }
    try {
      doc = JSON.parse(json);
    } catch (e) {
      throw authErrors.malformedPolicy('$', `not valid JSON (${(e as Error).message.slice(0, 100)})`);
    }
  } else {
    let text: string | undefined;
    try {
      text = JSON.stringify(json);
    } catch {
      throw authErrors.malformedPolicy('$', 'cannot be serialised as JSON');
    }
    if (text === undefined || Buffer.byteLength(text, 'utf8') > POLICY_LIMITS.documentBytesMax) {
      throw authErrors.malformedPolicy('$', `the policy is missing or larger than ${POLICY_LIMITS.documentBytesMax} bytes`);
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw authErrors.malformedPolicy('$', 'must be a JSON object');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (k !== 'Version' && k !== 'Statement' && k !== 'Id') throw authErrors.malformedPolicy(k, 'unknown key');
  }
  if (d.Version !== '2012-10-17') throw authErrors.malformedPolicy('Version', 'must be "2012-10-17"');
  if (d.Id !== undefined && typeof d.Id !== 'string') throw authErrors.malformedPolicy('Id', 'must be a string');
  const rawStatements = Array.isArray(d.Statement) ? d.Statement : d.Statement !== undefined ? [d.Statement] : undefined;
  if (rawStatements === undefined || rawStatements.length === 0) throw authErrors.malformedPolicy('Statement', 'must be a non-empty array');
  if (rawStatements.length > POLICY_LIMITS.statementsMax) throw authErrors.malformedPolicy('Statement', `has more than ${POLICY_LIMITS.statementsMax} statements`);
  const statements: Statement[] = rawStatements.map((s: unknown, i: number) => {
    const at = `Statement[${i}]`;
    if (s === null || typeof s !== 'object' || Array.isArray(s)) throw authErrors.malformedPolicy(at, 'must be an object');
    const st = s as Record<string, unknown>;
    for (const k of Object.keys(st)) {
      if (REFUSED_KEYS[k] !== undefined) throw authErrors.malformedPolicy(`${at}.${k}`, REFUSED_KEYS[k]);
      if (!STATEMENT_KEYS.has(k)) throw authErrors.malformedPolicy(`${at}.${k}`, 'unknown key');
    }
    if (st.Sid !== undefined && (typeof st.Sid !== 'string' || !/^[A-Za-z0-9]{0,128}$/.test(st.Sid))) {
      throw authErrors.malformedPolicy(`${at}.Sid`, 'must be a string of letters and digits');
    }
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw authErrors.malformedPolicy(`${at}.Effect`, 'must be "Allow" or "Deny"');
    if (st.Action === undefined) throw authErrors.malformedPolicy(`${at}.Action`, 'is required');
    if (st.Resource === undefined) throw authErrors.malformedPolicy(`${at}.Resource`, 'is required');
    const action = parseStringList(st.Action, `${at}.Action`, POLICY_LIMITS.actionsPerStatementMax);
    const resource = parseStringList(st.Resource, `${at}.Resource`, POLICY_LIMITS.resourcesPerStatementMax);
    asList(action).forEach((a, j) => checkAction(a, typeof action === 'string' ? `${at}.Action` : `${at}.Action[${j}]`));
    asList(resource).forEach((r, j) => checkResource(r, typeof resource === 'string' ? `${at}.Resource` : `${at}.Resource[${j}]`));
    const out: Statement = { Effect: st.Effect, Action: action, Resource: resource };
    if (st.Sid !== undefined) out.Sid = st.Sid as string;
    return out;
  });
  return { Version: '2012-10-17', Statement: statements };
}

export interface Subject {
  admin: boolean;
  policy?: Policy;
}
export interface ResourceRef {
  bucket?: string;
  key?: string;
}
export type Decision = 'allow' | 'deny' | 'implicit-deny';

function resourceArn(action: string, scope: ActionScope, r: ResourceRef): string {
  if (scope === 'service') return '*';
  if (typeof r.bucket !== 'string' || r.bucket.length === 0) throw new TypeError(`${action} needs a bucket`);
  if (scope === 'bucket') return `arn:aws:s3:::${r.bucket}`;
  if (typeof r.key !== 'string') throw new TypeError(`${action} needs an object key`);
  return `arn:aws:s3:::${r.bucket}/${r.key}`;
}

function resourceMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  if (arn === '*') return pattern === 'arn:aws:s3:::*';
  return globMatch(pattern, arn);
}

// Bucket part of an object-level pattern (arn:aws:s3:::BUCKET/KEY gives BUCKET), or undefined for a bucket pattern.
function patternBucketOfObject(pattern: string): string | undefined {
  if (!pattern.startsWith('arn:aws:s3:::')) return undefined;
  const rest = pattern.slice('arn:aws:s3:::'.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? undefined : rest.slice(0, slash);
}

function statementsFor(policy: Policy | undefined, effect: 'Allow' | 'Deny', action: string): Statement[] {
  if (policy === undefined) return [];
  return policy.Statement.filter((s) => s.Effect === effect && asList(s.Action).some((a) => actionMatches(a, action)));
}

/**
 * Decide one action on one resource. `action` must be one of S3_ACTIONS or sv:Admin (anything else is a
 * programming error and throws TypeError).
 *
 * s3:ListBucket is also allowed (never denied) by an Allow whose resource is object-level inside the
 * bucket ('arn:aws:s3:::b/home/alice/*'): a prefix-scoped listing grant, whose results listPrefixFilter
 * then narrows to that prefix. This stands in for IAM's s3:prefix condition, which is not supported.
 */
export function authorize(p: Subject, action: string, resource: ResourceRef): Decision {
  if (action === ADMIN_ACTION) return p.admin ? 'allow' : 'implicit-deny';
  const scope = S3_ACTIONS[action];
  if (scope === undefined) throw new TypeError(`unknown action ${action}`);
  const arn = resourceArn(action, scope, resource);
  if (p.admin) return 'allow';
  if (p.policy === undefined) return 'implicit-deny';
  for (const s of statementsFor(p.policy, 'Deny', action)) {
    if (asList(s.Resource).some((r) => resourceMatches(r, arn))) return 'deny';
  }
  for (const s of statementsFor(p.policy, 'Allow', action)) {
    for (const r of asList(s.Resource)) {
      if (resourceMatches(r, arn)) return 'allow';
      if (action === 's3:ListBucket') {
        const b = patternBucketOfObject(r);
        if (b !== undefined && globMatch(b, resource.bucket!)) return 'allow';
      }
    }
  }
  return 'implicit-deny';
}

interface ListRules {
  none: boolean;
  wholeBucket: boolean;
  allowObject: string[];
  denyObject: string[];
}

function listRules(p: Subject, bucket: string): ListRules | 'all' {
  if (p.admin) return 'all';
  const policy = p.policy;
  if (policy === undefined) return { none: true, wholeBucket: false, allowObject: [], denyObject: [] };
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const denyList = statementsFor(policy, 'Deny', 's3:ListBucket').flatMap((s) => asList(s.Resource));
  // Patterns that can match some object of this bucket ('arn:aws:s3:::*' can, 'arn:aws:s3:::other/*' cannot).
  const objectLevel = (r: string) => r === '*' || globCompatiblePrefix(r, `${bucketArn}/`);
  const denyObject = [...denyList, ...statementsFor(policy, 'Deny', 's3:GetObject').flatMap((s) => asList(s.Resource))].filter(objectLevel);
  const allowList = statementsFor(policy, 'Allow', 's3:ListBucket').flatMap((s) => asList(s.Resource));
  return {
    none: denyList.some((r) => resourceMatches(r, bucketArn)),
    wholeBucket: allowList.some((r) => resourceMatches(r, bucketArn)),
    allowObject: [...allowList, ...statementsFor(policy, 'Allow', 's3:GetObject').flatMap((s) => asList(s.Resource))].filter(objectLevel),
    denyObject,
  };
}

/**
 * The same rules for the common prefixes of a delimiter listing: a prefix is shown when at least one key
 * under it could be shown (some Allow pattern can match a key starting with it) and not every key under it
 * is denied (a Deny pattern whose rest after the prefix is only '*').
 */
export function listCommonPrefixFilter(p: Subject, bucket: string): (prefix: string) => boolean {
  const rules = listRules(p, bucket);
  if (rules === 'all') return () => true;
  if (rules.none) return () => false;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  return (prefix: string) => {
    const arn = `${bucketArn}/${prefix}`;
    if (rules.denyObject.some((r) => r === '*' || globCoversExtensions(r, arn))) return false;
    if (rules.wholeBucket) return true;
    return rules.allowObject.some((r) => r === '*' || globCompatiblePrefix(r, arn));
  };
}

/**
 * Which keys of a bucket a listing may show. A key is shown when s3:ListBucket is allowed on the bucket as a
 * whole, or an Allow of s3:ListBucket or s3:GetObject matches its object ARN; and no Deny of s3:ListBucket or
 * s3:GetObject matches its object ARN (or s3:ListBucket on the bucket). Admins see everything. For the common
 * prefixes of a delimiter listing use listCommonPrefixFilter.
 */
export function listPrefixFilter(p: Subject, bucket: string): (key: string) => boolean {
  const rules = listRules(p, bucket);
  if (rules === 'all') return () => true;
  if (rules.none) return () => false;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  return (key: string) => {
    const arn = `${bucketArn}/${key}`;
    if (rules.denyObject.some((r) => resourceMatches(r, arn))) return false;
    if (rules.wholeBucket) return true;
    return rules.allowObject.some((r) => resourceMatches(r, arn));
  };
}
