/**
 * `upgrade status` and `upgrade finalize` (docs/upgrades.md): a pool keeps writing the format the previous
 * release reads until it is finalized, so a rollout can be rolled back until then; finalize moves it to this
 * release's format, after which the previous release refuses to open it.
 */
import type { Command } from 'commander';

import type { UpgradeStatus } from '../../vault.js';
import { Ctx, dataOption, metaOption, withVault } from '../context.js';

function statusLines(ctx: Ctx, s: UpgradeStatus): string[] {
  return [
    `pool ${ctx.where}: writes format ${s.formatVersion}; release ${s.release} reads formats ${s.formatsRead.join(' and ')}; opens with release ${s.minRelease} or newer`,
    s.finalizePending
      ? `upgrade pending: the pool stays open to release ${s.previousRelease} (rollback possible); once no host needs ${s.previousRelease}, run \`${ctx.suggest('upgrade finalize')}\` (then ${s.previousRelease} refuses to open it)`
      : `finalized: format ${s.formatVersion} is this release's (release ${s.previousRelease} refuses to open this pool)`,
  ];
}

export function registerUpgrade(program: Command): void {
  const upgrade = program.command('upgrade').description('the pool format: status, finalize (two-phase upgrade, docs/upgrades.md)');

  upgrade
    .command('status')
    .description('the format the pool writes, the formats this release reads, the oldest release that opens it, whether finalize is pending')
    .option(...metaOption)
    .option(...dataOption)
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const s = await withVault(ctx, async (v) => v.upgradeStatus(), { readOnly: true });
      ctx.result(s, statusLines(ctx, s));
    });

  upgrade
    .command('finalize')
    .description('write this release\'s format from now on: the previous release can no longer open the pool (idempotent)')
    .option(...metaOption)
    .option(...dataOption)
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const { r, s } = await withVault(ctx, async (v) => ({ r: await v.finalizeUpgrade(), s: v.upgradeStatus() }));
      ctx.result(
        { ...s, changed: r.changed, from: r.from },
        r.changed
          ? [`upgrade finalized: pool ${ctx.where} now writes format ${r.formatVersion} (was ${r.from}) and opens with release ${r.minRelease} or newer`]
          : [`already finalized: pool ${ctx.where} writes format ${r.formatVersion}; nothing changed`],
      );
    });
}
