// Policy parsing (strict, with the path of the bad field) and the evaluation matrix: deny by default,
// explicit Deny wins, wildcards, bucket vs object resources, admins, and the listing filter.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatch } from '../lib/auth/policy.js';
import { AuthError, authorize, listCommonPrefixFilter, listPrefixFilter, parsePolicy, S3_ACTIONS, type Policy } from '../lib/auth/index.js';

const pol = (...Statement: Policy['Statement']): Policy => parsePolicy({ Version: '2012-10-17', Statement });

describe('parsePolicy', () => {
  it('accepts the documented shapes and normalises a single Statement object to an array', () => {
    const p = parsePolicy('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}');
    expect(p.Statement).toHaveLength(1);
    expect(pol({ Sid: 'ReadAll', Effect: 'Deny', Action: ['s3:Get*', 's3:List*'], Resource: ['*', 'arn:aws:s3:::b', 'arn:aws:s3:::b?c*/x/*'] }).Statement[0].Sid).toBe('ReadAll');
  });
  const bad: Array<[string, unknown, string]> = [
    ['not JSON', '{', '$'],
    ['an array', [], '$'],
    ['unknown top-level key', { Version: '2012-10-17', Statement: [], Extra: 1 }, 'Extra'],
    ['wrong Version', { Version: '2008-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }, 'Version'],
    ['no Statement', { Version: '2012-10-17' }, 'Statement'],
    ['empty Statement', { Version: '2012-10-17', Statement: [] }, 'Statement'],
    ['bad Effect', { Version: '2012-10-17', Statement: [{ Effect: 'allow', Action: 's3:GetObject', Resource: '*' }] }, 'Statement[0].Effect'],
    ['Condition refused', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: {} }] }, 'Statement[0].Condition'],
    ['NotAction refused', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotAction: 's3:GetObject', Resource: '*' }] }, 'Statement[0].NotAction'],
    ['Principal refused', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*' }] }, 'Statement[0].Principal'],
    ['unknown statement key', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Resources: '*' }] }, 'Statement[0].Resources'],
    ['missing Action', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Resource: '*' }] }, 'Statement[0].Action'],
    ['missing Resource', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject' }] }, 'Statement[0].Resource'],
    ['typo in an action', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjects'], Resource: '*' }] }, 'Statement[0].Action[1]'],
    ['pattern matching no action', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:Gte*', Resource: '*' }] }, 'Statement[0].Action'],
    ['another service', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:RunInstances', Resource: '*' }] }, 'Statement[0].Action'],
    ['admin cannot be granted', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sv:Admin', Resource: '*' }] }, 'Statement[0].Action'],
    ['a number as Action', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 5, Resource: '*' }] }, 'Statement[0].Action'],
    ['a number inside Resource', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: ['*', 5] }] }, 'Statement[0].Resource[1]'],
    ['a non-S3 ARN', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:iam:::user/x' }] }, 'Statement[0].Resource'],
    ['a bad bucket in the ARN', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::Bad_Bucket/*' }] }, 'Statement[0].Resource'],
    ['too large', `{"Version":"2012-10-17","Statement":[${'{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},'.repeat(400)}{}]}`, '$'],
    ['too many statements', { Version: '2012-10-17', Statement: Array.from({ length: 101 }, () => ({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' })) }, 'Statement'],
  ];
  for (const [name, doc, path] of bad) {
    it(`refuses ${name} (MalformedPolicy at ${path})`, () => {
      try {
        parsePolicy(doc);
        expect.unreachable('parsePolicy accepted it');
      } catch (e) {
        expect(e).toBeInstanceOf(AuthError);
        expect((e as AuthError).s3Code).toBe('MalformedPolicy');
        expect((e as AuthError).status).toBe(400);
        expect((e as AuthError).path).toBe(path);
      }
    });
  }
  it('property: any JSON value is either a valid policy or a MalformedPolicy AuthError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
      try {
        parsePolicy(v);
      } catch (e) {
        expect(e).toBeInstanceOf(AuthError);
      }
    }), { numRuns: 2000 });
  });
});

describe('globMatch', () => {
  it('matches * (any run, across /) and ? (one character), case-sensitively', () => {
    expect(globMatch('a*', 'a/b/c')).toBe(true);
    expect(globMatch('a?c', 'abc')).toBe(true);
    expect(globMatch('a?c', 'ac')).toBe(false);
    expect(globMatch('*.jpg', 'x/y.JPG')).toBe(false);
    expect(globMatch('', '')).toBe(true);
    expect(globMatch('**', '')).toBe(true);
  });
  it('agrees with a regular-expression oracle', () => {
    const toRe = (p: string) => new RegExp(`^${p.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('')}$`, 's');
    fc.assert(fc.property(fc.stringMatching(/^[ab*?/]{0,8}$/), fc.stringMatching(/^[ab/]{0,10}$/), (p, t) => {
      expect(globMatch(p, t)).toBe(toRe(p).test(t));
    }), { numRuns: 5000 });
  });
  it('is linear on hostile patterns', () => {
    const t0 = performance.now();
    expect(globMatch(`${'*a'.repeat(500)}b`, 'a'.repeat(1000))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe('authorize: the policy matrix', () => {
  const readPrefix = pol({ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::photos', 'arn:aws:s3:::photos/public/*'] });
  const writerDenySecret = pol(
    { Effect: 'Allow', Action: 's3:*', Resource: ['arn:aws:s3:::data', 'arn:aws:s3:::data/*'] },
    { Effect: 'Deny', Action: ['s3:DeleteObject', 's3:Get*'], Resource: 'arn:aws:s3:::data/secret/*' },
  );
  const star = pol({ Effect: 'Allow', Action: '*', Resource: '*' });
  const getStar = pol({ Effect: 'Allow', Action: 's3:get*', Resource: 'arn:aws:s3:::b*/*' });
  const listAll = pol({ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' });
  const none = { admin: false };
  const admin = { admin: true };
  type Row = [string, { admin: boolean; policy?: Policy }, string, { bucket?: string; key?: string }, 'allow' | 'deny' | 'implicit-deny'];
  const rows: Row[] = [
    ['no policy: nothing', none, 's3:GetObject', { bucket: 'photos', key: 'public/a' }, 'implicit-deny'],
    ['no policy: not even listing buckets', none, 's3:ListAllMyBuckets', {}, 'implicit-deny'],
    ['admin: everything', admin, 's3:DeleteBucket', { bucket: 'photos' }, 'allow'],
    ['admin: the admin API', admin, 'sv:Admin', {}, 'allow'],
    ['a policy never reaches the admin API', { admin: false, policy: star }, 'sv:Admin', {}, 'implicit-deny'],
    ['prefix read: inside', { admin: false, policy: readPrefix }, 's3:GetObject', { bucket: 'photos', key: 'public/cat.jpg' }, 'allow'],
    ['prefix read: deeper', { admin: false, policy: readPrefix }, 's3:GetObject', { bucket: 'photos', key: 'public/2024/x/y' }, 'allow'],
    ['prefix read: outside', { admin: false, policy: readPrefix }, 's3:GetObject', { bucket: 'photos', key: 'private/cat.jpg' }, 'implicit-deny'],
    ['prefix read: prefix is not a substring match', { admin: false, policy: readPrefix }, 's3:GetObject', { bucket: 'photos', key: 'publicity/x' }, 'implicit-deny'],
    ['prefix read: other bucket', { admin: false, policy: readPrefix }, 's3:GetObject', { bucket: 'photos2', key: 'public/cat.jpg' }, 'implicit-deny'],
    ['prefix read: no write', { admin: false, policy: readPrefix }, 's3:PutObject', { bucket: 'photos', key: 'public/cat.jpg' }, 'implicit-deny'],
    ['prefix read: ListBucket on the bucket ARN', { admin: false, policy: readPrefix }, 's3:ListBucket', { bucket: 'photos' }, 'allow'],
    ['bucket ARN does not grant object actions', { admin: false, policy: pol({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos' }) }, 's3:GetObject', { bucket: 'photos', key: 'a' }, 'implicit-deny'],
    ['object ARN does not grant bucket actions', { admin: false, policy: pol({ Effect: 'Allow', Action: 's3:DeleteBucket', Resource: 'arn:aws:s3:::photos/*' }) }, 's3:DeleteBucket', { bucket: 'photos' }, 'implicit-deny'],
    ['s3:* on bucket/*: put', { admin: false, policy: writerDenySecret }, 's3:PutObject', { bucket: 'data', key: 'x' }, 'allow'],
    ['s3:* on the bucket: create/delete bucket', { admin: false, policy: writerDenySecret }, 's3:DeleteBucket', { bucket: 'data' }, 'allow'],
    ['explicit Deny wins over s3:*', { admin: false, policy: writerDenySecret }, 's3:DeleteObject', { bucket: 'data', key: 'secret/k' }, 'deny'],
    ['Deny with s3:Get* covers GetObject', { admin: false, policy: writerDenySecret }, 's3:GetObject', { bucket: 'data', key: 'secret/k' }, 'deny'],
    ['Deny does not leak outside its resource', { admin: false, policy: writerDenySecret }, 's3:GetObject', { bucket: 'data', key: 'public/k' }, 'allow'],
    ['Deny of other actions leaves put allowed', { admin: false, policy: writerDenySecret }, 's3:PutObject', { bucket: 'data', key: 'secret/k' }, 'allow'],
    ['Deny wins even over admin-like *', { admin: false, policy: pol({ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: 's3:PutObject', Resource: '*' }) }, 's3:PutObject', { bucket: 'a', key: 'b' }, 'deny'],
    ['Action * Resource *: all S3', { admin: false, policy: star }, 's3:CreateBucket', { bucket: 'new' }, 'allow'],
    ['action names are case-insensitive', { admin: false, policy: getStar }, 's3:GetObject', { bucket: 'box', key: 'k' }, 'allow'],
    ['resource wildcard in the bucket', { admin: false, policy: getStar }, 's3:GetObject', { bucket: 'cat', key: 'k' }, 'implicit-deny'],
    ['keys are case-sensitive', { admin: false, policy: pol({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/Docs/*' }) }, 's3:GetObject', { bucket: 'b', key: 'docs/x' }, 'implicit-deny'],
    ['ListAllMyBuckets needs Resource *', { admin: false, policy: listAll }, 's3:ListAllMyBuckets', {}, 'allow'],
    ['ListAllMyBuckets is not granted by a bucket ARN', { admin: false, policy: pol({ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: 'arn:aws:s3:::b' }) }, 's3:ListAllMyBuckets', {}, 'implicit-deny'],
    ['ListAllMyBuckets with arn:aws:s3:::*', { admin: false, policy: pol({ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: 'arn:aws:s3:::*' }) }, 's3:ListAllMyBuckets', {}, 'allow'],
    ['prefix-scoped listing grant allows ListBucket', { admin: false, policy: pol({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::home/alice/*' }) }, 's3:ListBucket', { bucket: 'home' }, 'allow'],
    ['prefix-scoped listing grant is per bucket', { admin: false, policy: pol({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::home/alice/*' }) }, 's3:ListBucket', { bucket: 'other' }, 'implicit-deny'],
    ['multipart abort is an object action', { admin: false, policy: writerDenySecret }, 's3:AbortMultipartUpload', { bucket: 'data', key: 'up' }, 'allow'],
  ];
  for (const [name, subject, action, resource, want] of rows) {
    it(`${name}: ${action} -> ${want}`, () => {
      expect(authorize(subject, action, resource)).toBe(want);
    });
  }
  it('every supported action is deny-by-default and allowed to an admin', () => {
    for (const action of Object.keys(S3_ACTIONS)) {
      expect(authorize(none, action, { bucket: 'b', key: 'k' })).toBe('implicit-deny');
      expect(authorize({ admin: false, policy: pol({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::zzz' }) }, action, { bucket: 'b', key: 'k' })).toBe('implicit-deny');
      expect(authorize(admin, action, { bucket: 'b', key: 'k' })).toBe('allow');
    }
  });
  it('programming errors throw: unknown action, missing bucket or key', () => {
    expect(() => authorize(admin, 's3:Nope', {})).toThrow(TypeError);
    expect(() => authorize(none, 's3:GetObject', { bucket: 'b' })).toThrow(TypeError);
    expect(() => authorize(none, 's3:ListBucket', {})).toThrow(TypeError);
  });
});

describe('listPrefixFilter', () => {
  const keys = ['home/alice/a', 'home/alice/secret/s', 'home/bob/b', 'public/p', 'top'];
  const visible = (policy: Policy | undefined, bucket = 'b', adminFlag = false) => keys.filter(listPrefixFilter({ admin: adminFlag, policy }, bucket));
  it('admins see everything; no policy sees nothing', () => {
    expect(visible(undefined, 'b', true)).toEqual(keys);
    expect(visible(undefined)).toEqual([]);
  });
  it('ListBucket on the bucket shows every key (names are not objects), minus explicit denies', () => {
    expect(visible(pol({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b' }))).toEqual(keys);
    expect(visible(pol({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b' },
      { Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/home/alice/secret/*' }))).toEqual(['home/alice/a', 'home/bob/b', 'public/p', 'top']);
  });
  it('a prefix-scoped grant narrows the listing to its prefix', () => {
    expect(visible(pol({ Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetObject'], Resource: 'arn:aws:s3:::b/home/alice/*' }))).toEqual(['home/alice/a', 'home/alice/secret/s']);
    expect(visible(pol({ Effect: 'Allow', Action: 's3:GetObject', Resource: ['arn:aws:s3:::b/public/*', 'arn:aws:s3:::b/top'] }))).toEqual(['public/p', 'top']);
  });
  it('agrees with authorize for patterns without a slash (arn:aws:s3:::* covers objects too)', () => {
    const policy = pol({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*' });
    expect(authorize({ admin: false, policy }, 's3:GetObject', { bucket: 'b', key: 'top' })).toBe('allow');
    expect(visible(policy)).toEqual(keys);
    expect(visible(pol({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::other/*' }))).toEqual([]);
  });
  it('a Deny of ListBucket on the bucket hides everything; other buckets see nothing', () => {
    expect(visible(pol({ Effect: 'Allow', Action: 's3:*', Resource: '*' }, { Effect: 'Deny', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b' }))).toEqual([]);
    expect(visible(pol({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b' }), 'c')).toEqual([]);
  });
});

describe('listPrefixFilter agrees with authorize', () => {
  it('property: a key readable by s3:GetObject is listed, a key whose GetObject is explicitly denied is not', () => {
    const pattern = fc.oneof(fc.stringMatching(/^[ab/*?]{0,5}$/).map((k) => `arn:aws:s3:::b/${k}`), fc.constantFrom('*', 'arn:aws:s3:::*', 'arn:aws:s3:::b*', 'arn:aws:s3:::c/*'));
    const key = fc.stringMatching(/^[ab/]{1,5}$/);
    fc.assert(fc.property(fc.array(pattern, { minLength: 1, maxLength: 3 }), fc.array(pattern, { maxLength: 2 }), key, (allows, denies, k) => {
      const statements: Policy['Statement'] = [{ Effect: 'Allow', Action: 's3:GetObject', Resource: allows }];
      if (denies.length > 0) statements.push({ Effect: 'Deny', Action: 's3:GetObject', Resource: denies });
      const subject = { admin: false, policy: pol(...statements) };
      const decision = authorize(subject, 's3:GetObject', { bucket: 'b', key: k });
      const listed = listPrefixFilter(subject, 'b')(k);
      if (decision === 'allow') expect(listed).toBe(true);
      if (decision === 'deny') expect(listed).toBe(false);
    }), { numRuns: 3000 });
  });
});

describe('listCommonPrefixFilter (delimiter listings)', () => {
  const show = (policy: Policy | undefined, prefixes: string[]) => prefixes.filter(listCommonPrefixFilter({ admin: false, policy }, 'b'));
  it('shows a prefix when some key under it could be shown, hides it when all are denied', () => {
    const alice = pol({ Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetObject'], Resource: 'arn:aws:s3:::b/home/alice/*' });
    expect(show(alice, ['home/', 'home/alice/', 'home/bob/', 'public/', 'home/al'])).toEqual(['home/', 'home/alice/', 'home/al']);
    const allButSecret = pol({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b' },
      { Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/secret/*' });
    expect(show(allButSecret, ['secret/', 'secret/x/', 'secrets/', 'public/'])).toEqual(['secrets/', 'public/']);
    expect(show(undefined, ['a/'])).toEqual([]);
    expect(listCommonPrefixFilter({ admin: true }, 'b')('anything/')).toBe(true);
  });
  it('property: agrees with the key filter on small alphabets (a key shown implies its prefixes shown; a prefix hidden by a deny hides every key under it)', () => {
    const pattern = fc.stringMatching(/^[ab/*?]{0,5}$/);
    const word = fc.stringMatching(/^[ab/]{0,4}$/);
    fc.assert(fc.property(fc.array(pattern, { minLength: 1, maxLength: 3 }), fc.array(pattern, { maxLength: 2 }), word, fc.array(word, { maxLength: 6 }),
      (allows, denies, prefix, tails) => {
        const statements: Policy['Statement'] = [{ Effect: 'Allow', Action: 's3:GetObject', Resource: allows.map((a) => `arn:aws:s3:::b/${a}`) }];
        if (denies.length > 0) statements.push({ Effect: 'Deny', Action: 's3:GetObject', Resource: denies.map((d) => `arn:aws:s3:::b/${d}`) });
        const policy = pol(...statements);
        const keyOk = listPrefixFilter({ admin: false, policy }, 'b');
        const prefixOk = listCommonPrefixFilter({ admin: false, policy }, 'b')(prefix);
        for (const t of tails) {
          if (keyOk(prefix + t)) expect(prefixOk).toBe(true);
        }
        if (!prefixOk) for (const t of ['a', 'b', '/', 'ab/', 'ba']) expect(keyOk(prefix + t)).toBe(false);
      }), { numRuns: 3000 });
  });
});
