/** Buckets: `mb` (create; `--ignore-existing`), `rb` (delete an empty one), `buckets` (list). */
import type { Command } from 'commander';

import { ErrorCode } from '../../errors.js';
import { Ctx, metaOption, withVault } from '../context.js';

export function registerBuckets(program: Command): void {
  program
    .command('mb <bucket>')
    .description('create a bucket (ERR_SV_BUCKET_EXISTS if it exists, unless --ignore-existing)')
    .option(...metaOption)
    .option('--ignore-existing', 'succeed (created: false) when the bucket already exists')
    .action((bucket: string, o: { ignoreExisting?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      ctx.hint.bucket = bucket;
      return withVault(ctx, async (v) => {
        let created = true;
        try {
          await v.createBucket(bucket);
        } catch (err) {
          if (o.ignoreExisting !== true || (err as { code?: string }).code !== ErrorCode.BUCKET_EXISTS) throw err;
          created = false;
        }
        ctx.result({ bucket, created }, created ? `mb ${bucket}: created` : `mb ${bucket}: exists already (--ignore-existing)`);
      });
    });

  program
    .command('rb <bucket>')
    .description('delete an empty bucket')
    .option(...metaOption)
    .action((bucket: string, _o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      ctx.hint.bucket = bucket;
      return withVault(ctx, async (v) => {
        await v.deleteBucket(bucket);
        ctx.result({ bucket, deleted: true }, `rb ${bucket}: deleted`);
      });
    });

  program
    .command('buckets')
    .description('list buckets')
    .option(...metaOption)
    .action((_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      return withVault(ctx, async (v) => {
        const buckets = (await v.listBuckets());
        ctx.result({ buckets }, buckets);
      }, { readOnly: true });
    });
}
