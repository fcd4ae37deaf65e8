/**
 * `keys`: the daemon's access keys. `create NAME [--policy FILE] [--admin]` prints the new key pair as JSON
 * (the secret is shown this once), `list` (never secrets), `disable ID`, `enable ID`, `delete ID`,
 * `policy ID FILE` (or `--detach`). With `--endpoint URL` they go through the daemon's admin API (signed
 * with the admin key in SHARDVAULT_ROOT_ACCESS_KEY / SHARDVAULT_ROOT_SECRET_KEY), so the running daemon sees
 * the change on its next request. With `--data DIR` (or `--meta`) they work on the pool's key store directly:
 * changes take the pool lock first, so they refuse (ERR_SV_POOL_BUSY) while a daemon holds the pool and
 * could not see them; `list` reads only and works beside a running daemon.
 *
 * Every change is written to the audit chain before it is made (the same records as the admin API's).
 */
import { readFile, stat } from 'node:fs/promises';

import type { Command } from 'commander';

import { KeyStore, POLICY_LIMITS, parsePolicy, type AccessKeyInfo, type Policy } from '../../auth/index.js';
import { ErrorCode } from '../../errors.js';
import type { Vault } from '../../vault.js';
import { Ctx, dataOption, endpointOption, metaOption, regionOption, withVault } from '../context.js';
import { CliCode, CliError } from '../errors.js';

type KeyView = Omit<AccessKeyInfo, 'policy'> & { hasPolicy: boolean; policy?: Policy };

const view = (k: AccessKeyInfo, withPolicy = false): KeyView => ({
  accessKeyId: k.accessKeyId, principal: k.principal, name: k.name, admin: k.admin, enabled: k.enabled, createdMs: k.createdMs,
  hasPolicy: k.policy !== undefined, ...(withPolicy && k.policy !== undefined ? { policy: k.policy } : {}),
});

/** Reads and checks a policy file (bounded before it is read). */
async function policyFile(path: string): Promise<Policy> {
  // The file may hold more whitespace than the document: parsePolicy bounds the document itself.
  const max = 64 * POLICY_LIMITS.documentBytesMax;
  const st = await stat(path);
  if (!st.isFile()) throw new CliError(CliCode.USAGE, `--policy ${path}: not a file`);
  if (st.size > max) throw new CliError(CliCode.USAGE, `--policy ${path}: ${st.size} bytes, a policy is at most ${max}`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new CliError(CliCode.USAGE, `--policy ${path}: not JSON: ${(err as Error).message}`, 'a policy is an IAM-style JSON document: {"Version":"2012-10-17","Statement":[...]} (docs/auth.md)');
  }
  try {
    return parsePolicy(json);
  } catch (err) {
    throw new CliError(CliCode.USAGE, `--policy ${path}: ${(err as Error).message}`, 'fix the field the message names (docs/auth.md has the policy language)');
  }
}

/** Works on the pool's key store directly; `change`: hold the pool lock (no daemon may hold it) and audit. */
async function local<T>(ctx: Ctx, change: boolean, fn: (keys: KeyStore, audit: (action: string, target: string, result: string, detail?: string) => Promise<void>) => Promise<T>): Promise<T> {
  const run = async (vault: Vault) => {
    const keys = await KeyStore.open(ctx.meta);
    const audit = async (action: string, target: string, result: string, detail?: string) => {
      if (change) await vault.appendAudit({ principal: 'local', action, target, result, source: 'cli', ...(detail !== undefined ? { detail } : {}) });
    };
    return fn(keys, audit);
  };
  try {
    return await withVault(ctx, run, { readOnly: !change });
  } catch (err) {
    if ((err as { code?: string }).code === ErrorCode.POOL_BUSY) {
      throw new CliError(ErrorCode.POOL_BUSY, `${(err as Error).message}: a running daemon holds it, and would not see a change made here`, `talk to the daemon instead: \`shardvault ${ctx.command} ... --endpoint URL\``);
    }
    throw err;
  }
}

/** Audit first, then the change; a failed change gets a `failed` record. */
async function audited<T>(audit: (action: string, target: string, result: string, detail?: string) => Promise<void>, action: string, target: string, detail: string | undefined, fn: () => Promise<T>): Promise<T> {
  await audit(action, target, 'ok', detail);
  try {
    return await fn();
  } catch (err) {
    await audit(action, target, 'failed', (err as { code?: string }).code).catch(() => undefined);
    throw err;
  }
}

function requireKey(keys: KeyStore, id: string): AccessKeyInfo {
  const k = keys.info(id);
  if (k === undefined) throw new CliError(ErrorCode.NOT_FOUND, `no access key ${JSON.stringify(id.slice(0, 128))}`, 'list the keys: `shardvault keys list`');
  return k;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

const withPool = (c: Command) => c.option(...endpointOption).option(...dataOption).option(...metaOption).option(...regionOption);

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description("the daemon's access keys: create, list, disable, enable, delete, attach a policy");

  withPool(keys
    .command('create <name>')
    .description('create an access key for principal NAME and print it as JSON (the secret is shown only this once)'))
    .option('--policy <file>', 'attach this IAM-style JSON policy to the principal (without one, the key can do nothing)')
    .option('--admin', 'an admin principal: everything allowed, including the admin API')
    .action(async (name: string, o: { policy?: string; admin?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const policy = o.policy === undefined ? undefined : await policyFile(o.policy);
      const admin = o.admin === true;
      const remote = ctx.remote();
      const created = remote !== undefined
        ? await remote.post<{ accessKeyId: string; secretAccessKey: string; principal: string }>('keys', { name, ...(policy !== undefined ? { policy } : {}), ...(admin ? { admin } : {}) })
        : await local(ctx, true, async (ks, audit) => {
          const k = await audited(audit, 'key.create', `name:${name}`, `admin=${admin} policy=${policy !== undefined}`, () => ks.create(name, { ...(policy !== undefined ? { policy } : {}), admin }));
          await audit('key.created', k.accessKeyId, 'ok', `name=${name} principal=${k.principal}`).catch(async (err: unknown) => {
            await ks.delete(k.accessKeyId).catch(() => undefined);
            throw err;
          });
          return k;
        });
      // JSON in both modes: this is the one time the secret exists outside the key store.
      ctx.write(`${JSON.stringify({ accessKeyId: created.accessKeyId, secretAccessKey: created.secretAccessKey, principal: created.principal })}\n`);
      ctx.note(`keys create: ${created.accessKeyId} for principal ${created.principal}${policy === undefined && !admin ? ' (no policy: it can do nothing until `keys policy ID FILE`)' : ''}; the secret is not shown again`);
    });

  withPool(keys.command('list').description('list the access keys (never their secrets)'))
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const remote = ctx.remote();
      const list = remote !== undefined
        ? (await remote.get<{ keys: KeyView[] }>('keys')).keys
        : await local(ctx, false, async (ks) => ks.list().map((k) => view(k)));
      const rows = [['ACCESS KEY', 'PRINCIPAL', 'NAME', 'ADMIN', 'ENABLED', 'POLICY', 'CREATED'],
        ...list.map((k) => [k.accessKeyId, k.principal, k.name, k.admin ? 'yes' : 'no', k.enabled ? 'yes' : 'no', k.admin ? '(admin)' : k.hasPolicy ? 'yes' : 'none', new Date(k.createdMs).toISOString()])];
      ctx.result({ keys: list }, list.length === 0 ? ['no access keys'] : table(rows));
    });

  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    withPool(keys.command(`${verb} <id>`).description(`${verb} an access key (the daemon sees it on the next request)`))
      .action(async (id: string, _o: unknown, cmd: Command) => {
        const ctx = Ctx.of(cmd);
        const remote = ctx.remote();
        const k = remote !== undefined
          ? await remote.post<KeyView>(`keys/${encodeURIComponent(id)}/${verb}`)
          : await local(ctx, true, async (ks, audit) => {
            requireKey(ks, id);
            await audited(audit, `key.${verb}`, id, undefined, () => (enabled ? ks.enable(id) : ks.disable(id)));
            return view(requireKey(ks, id));
          });
        ctx.result(k, `keys ${verb} ${id}: ${k.enabled ? 'enabled' : 'disabled'}`);
      });
  }

  withPool(keys.command('delete <id>').description('delete an access key for good (requests signed with it fail from the next one)'))
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const remote = ctx.remote();
      const r = remote !== undefined
        ? await remote.call<{ accessKeyId: string; deleted: boolean }>('DELETE', `keys/${encodeURIComponent(id)}`).then((x) => x.value)
        : await local(ctx, true, async (ks, audit) => {
          requireKey(ks, id);
          await audited(audit, 'key.delete', id, undefined, () => ks.delete(id));
          return { accessKeyId: id, deleted: true };
        });
      ctx.result(r, `keys delete ${id}: deleted`);
    });

  withPool(keys.command('policy <id> [file]').description("attach the policy in FILE to the key's principal (all its keys), or --detach it"))
    .option('--detach', 'remove the policy: the principal can then do nothing (admins keep everything)')
    .action(async (id: string, file: string | undefined, o: { detach?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      if ((file === undefined) === (o.detach !== true)) throw new CliError(CliCode.USAGE, 'give a policy FILE or --detach (one of them)');
      const policy = file === undefined ? undefined : await policyFile(file);
      const remote = ctx.remote();
      const k = remote !== undefined
        ? (await remote.call<KeyView>('PUT', `keys/${encodeURIComponent(id)}/policy`, { policy: policy ?? null })).value
        : await local(ctx, true, async (ks, audit) => {
          requireKey(ks, id);
          await audited(audit, policy === undefined ? 'key.policy.detach' : 'key.policy.set', id, policy === undefined ? undefined : `statements=${policy.Statement.length}`, () => ks.setPolicy(id, policy));
          return view(requireKey(ks, id), true);
        });
      ctx.result(k, `keys policy ${id}: ${policy === undefined ? 'detached' : `attached to principal ${k.principal} (${policy.Statement.length} statement(s))`}`);
    });
}
