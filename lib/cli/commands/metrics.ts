/**
 * `metrics --endpoint URL`: the daemon's Prometheus exposition (GET /_shardvault/metrics, signed with the admin key), on
 * stdout as the daemon sent it, e.g. for node_exporter's textfile collector or a quick look; docs/operations.md
 * lists the metrics.
 */
import type { Command } from 'commander';

import { Ctx, endpointOption, regionOption } from '../context.js';
import { CliCode, CliError } from '../errors.js';

export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description("print the daemon's Prometheus metrics (GET /_shardvault/metrics, signed with the admin key)")
    .option(...endpointOption)
    .option(...regionOption)
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const remote = ctx.remote();
      if (remote === undefined) throw new CliError(CliCode.USAGE, 'metrics needs --endpoint URL: they are the running daemon\'s', 'e.g. `shardvault metrics --endpoint http://127.0.0.1:9000`');
      // The daemon's own path (lib/server/index.ts METRICS_PATH): no bucket can shadow it, unlike /metrics.
      const text = await remote.text('/_shardvault/metrics');
      if (ctx.json) ctx.write(`${JSON.stringify({ contentType: 'text/plain; version=0.0.4', text })}\n`);
      else ctx.write(text);
    });
}
