/**
 * `config`: the pool's settings that have a knob, its security floor, and configuration drift
 * (docs/security-floor.md). `config show` and `config diff` read (beside a process holding the pool);
 * `config set write-quorum N`, `config floor raise` and `config floor lower` change the pool. Every one of them
 * also works against a running daemon (`--endpoint URL`: the admin API's config routes). Anything weaker than
 * the floor is refused (ERR_SV_FLOOR, exit 2) unless `--break-glass --reason TEXT` accepts it: audited, shown by
 * `status` and the daemon's metric until the floor is raised back.
 */
import { InvalidArgumentError, type Command } from 'commander';

import type { ConfigChange, FloorSettings, FloorStatus, RecordedConfig, Vault } from '../../vault.js';
import { positiveInt } from '../args.js';
import { Ctx, dataOption, endpointOption, metaOption, regionOption, withVault } from '../context.js';
import { CliCode, CliError } from '../errors.js';

/** `--write-quorum k+N` as the floor's writeQuorumAboveK (N; the floor is relative to k, as the pool's quorum is). */
function quorumMargin(value: string): number {
  const m = /^k\+(\d{1,3})$/.exec(value.trim());
  if (m === null || Number(m[1]) < 1) throw new InvalidArgumentError('expected k+N with N >= 1 (the write quorum is at least k + N)');
  return Number(m[1]);
}

interface FloorFlags { k?: number; m?: number; writeQuorum?: number; manifestFormat?: number }

function floorSettingsOf(o: FloorFlags): Partial<FloorSettings> {
  const s: Partial<FloorSettings> = {
    ...(o.k !== undefined ? { k: o.k } : {}), ...(o.m !== undefined ? { m: o.m } : {}),
    ...(o.writeQuorum !== undefined ? { writeQuorumAboveK: o.writeQuorum } : {}), ...(o.manifestFormat !== undefined ? { manifestFormat: o.manifestFormat } : {}),
  };
  if (Object.keys(s).length === 0) throw new CliError(CliCode.USAGE, 'name a setting: --k N, --m N, --write-quorum k+N or --manifest-format N');
  return s;
}

const onOff = (b: boolean) => (b ? 'on' : 'off');

function floorLines(f: FloorStatus | undefined): string[] {
  if (f === undefined) return ['security floor: none recorded yet (the next read-write open records the current settings)'];
  const lines = [`security floor (serial ${f.serial}, ${new Date(f.timeMs).toISOString()}): k>=${f.k} m>=${f.m} write-quorum>=k+${f.writeQuorumAboveK} hash=${f.hash} signature=${f.signature} fsync=${onOff(f.fsync)} verify-on-read=${onOff(f.verifyOnRead)} manifest-format>=${f.manifestFormat}`];
  if (f.overridden) {
    lines.push(`OVERRIDDEN since ${new Date(f.sinceMs ?? 0).toISOString()} (break-glass): ${f.reason ?? ''}`);
    if (f.previous !== undefined) lines.push(`  raise it back to end the override: k>=${f.previous.k} m>=${f.previous.m} write-quorum>=k+${f.previous.writeQuorumAboveK}`);
  }
  return lines;
}

const value = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
const changeLine = (c: ConfigChange) => `${c.security ? '!' : ' '} ${c.path}: ${value(c.before)} -> ${value(c.after)}`;

const withPool = (c: Command) => c.option(...metaOption).option(...dataOption).option(...endpointOption).option(...regionOption);

type History = Awaited<ReturnType<Vault['configHistory']>>;

/** What `config show` and `config diff` read: here (read-only), or from the daemon (GET config). */
async function readConfig(ctx: Ctx): Promise<{ pool: Awaited<ReturnType<Vault['status']>>['pool']; floor: FloorStatus | null; history: History }> {
  const remote = ctx.remote();
  if (remote !== undefined) return remote.get('config');
  return withVault(ctx, async (v) => ({ pool: (await v.status()).pool, floor: v.floor() ?? null, history: await v.configHistory() }), { readOnly: true });
}

const recorded = (c: RecordedConfig | undefined) => (c === undefined ? null : { digest: c.digest, recordedMs: c.timeMs, source: c.source });

export function registerConfig(program: Command): void {
  const config = program.command('config').description("the pool's settings, its security floor and what changed in its configuration");

  withPool(config
    .command('show')
    .description('the pool settings with a knob, the security floor (and any override) and the last recorded configuration digest'))
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const c = await readConfig(ctx);
      const r = { pool: c.pool, floor: c.floor, config: recorded(c.history.current) };
      ctx.result(r, [
        `k=${r.pool.k} m=${r.pool.m} write-quorum=${r.pool.writeQuorum} (k+${r.pool.writeQuorum - r.pool.k}) failure-domain=${r.pool.failureDomain}`,
        ...floorLines(r.floor ?? undefined),
        r.config === null ? 'configuration: not recorded yet' : `configuration digest ${r.config.digest} (recorded ${new Date(r.config.recordedMs).toISOString()} by ${r.config.source})`,
      ]);
    });

  withPool(config
    .command('set <setting> <value>')
    .description('change a pool setting: write-quorum N (k+1..k+m); below the security floor needs --break-glass --reason'))
    .action(async (setting: string, raw: string, o: FloorFlags, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      if (setting !== 'write-quorum') throw new CliError(CliCode.USAGE, `unknown setting ${JSON.stringify(setting)}: the setting with a knob is write-quorum (k, m and the failure domain are fixed at init; fsync and verify-on-read are always on)`);
      let n: number;
      try {
        n = positiveInt(raw);
      } catch {
        throw new CliError(CliCode.USAGE, `write-quorum ${JSON.stringify(raw)}: expected a positive integer`);
      }
      const breakGlass = ctx.open.breakGlass === undefined ? undefined : { reason: ctx.open.breakGlass.reason }; // the global --break-glass --reason TEXT
      const remote = ctx.remote();
      const r: { setting: string; before: number; after: number; floor: FloorStatus | null } = remote !== undefined
        ? await remote.post('config', { writeQuorum: n, ...(breakGlass !== undefined ? { breakGlass } : {}) })
        : await withVault(ctx, async (v) => {
          const before = (await v.status()).pool.writeQuorum;
          await v.reconfigure({ writeQuorum: n, ...(breakGlass !== undefined ? { breakGlass } : {}) });
          return { setting: 'write-quorum', before, after: n, floor: v.floor() ?? null };
        });
      ctx.result(r, [`write-quorum ${r.before} -> ${r.after}`, ...(r.floor?.overridden === true ? floorLines(r.floor) : [])]);
    });

  withPool(config
    .command('diff')
    .description('what changed between the last two recorded configurations (! marks a security-relevant setting)'))
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const h = (await readConfig(ctx)).history;
      const r = {
        digest: h.current?.digest ?? null, recordedMs: h.current?.timeMs ?? null, source: h.current?.source ?? null,
        previousDigest: h.current?.previous?.digest ?? null, previousRecordedMs: h.current?.previous?.timeMs ?? null, changes: h.changes,
        ...(h.lastSecurityChange !== undefined ? { lastSecurityChange: h.lastSecurityChange } : {}),
      };
      const lines = h.current === undefined ? ['no configuration recorded yet (the next read-write open records it)']
        : h.current.previous === undefined ? [`configuration ${h.current.digest} recorded ${new Date(h.current.timeMs).toISOString()} by ${h.current.source}; nothing recorded before it`]
          : [`${h.current.previous.digest} (${new Date(h.current.previous.timeMs).toISOString()}, ${h.current.previous.source}) -> ${h.current.digest} (${new Date(h.current.timeMs).toISOString()}, ${h.current.source})`, ...h.changes.map(changeLine)];
      ctx.result(r, lines);
    });

  const floor = withPool(config
    .command('floor')
    .description('show the security floor (raise it with `config floor raise`, lower it only with --break-glass)'))
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const f = (await readConfig(ctx)).floor ?? undefined;
      ctx.result({ floor: f ?? null }, floorLines(f));
    });

  const settingOptions = (c: Command) => c
    .option('--k <n>', 'minimum data shards', positiveInt)
    .option('--m <n>', 'minimum parity shards', positiveInt)
    .option('--write-quorum <k+N>', 'minimum write quorum, as k+N', quorumMargin)
    .option('--manifest-format <n>', 'oldest manifest format accepted', positiveInt);

  withPool(settingOptions(floor
    .command('raise')
    .description('raise the security floor (the pool must already meet it); raising it back ends a break-glass override')))
    .action(async (o: FloorFlags, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const asked = floorSettingsOf(o);
      const remote = ctx.remote();
      const f = remote !== undefined ? (await remote.post<{ floor: FloorStatus }>('config/floor/raise', { settings: asked })).floor : await withVault(ctx, (v) => v.raiseFloor(asked));
      ctx.result({ floor: f }, floorLines(f));
    });

  withPool(settingOptions(floor
    .command('lower')
    .description('lower the security floor: needs --break-glass --reason TEXT; audited and shown by status until raised back')))
    .action(async (o: FloorFlags, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const asked = floorSettingsOf(o);
      const breakGlass = ctx.open.breakGlass === undefined ? undefined : { reason: ctx.open.breakGlass.reason }; // the global --break-glass --reason TEXT
      const remote = ctx.remote();
      const f = remote !== undefined ? (await remote.post<{ floor: FloorStatus }>('config/floor/lower', { settings: asked, ...(breakGlass !== undefined ? { breakGlass } : {}) })).floor
        : await withVault(ctx, (v) => v.lowerFloor(asked, breakGlass !== undefined ? { breakGlass } : {}));
      ctx.result({ floor: f }, floorLines(f));
    });
}
