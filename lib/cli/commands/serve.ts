/**
 * `shardvault serve`: the S3 daemon over a pool under --data (created on first start: six directory disks,
 * 4+2, and a root key). Prints one machine-readable line `listening URL` on stdout (tests and scripts wait
 * for it), and on first start the root key and a working AWS CLI line. SIGTERM/SIGINT stop it gracefully;
 * a second signal exits at once.
 */
import type { Command } from 'commander';

import { startServer } from '../../server/index.js';
import { Ctx } from '../context.js';

interface ServeOptions { data: string; address?: string; metricsAddress?: string; config?: string; domain?: string; region?: string; logLevel?: string}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the S3 daemon over the pool under --data (created on first start: 6 directory disks, 4+2)')
    .option('--data <dir>', 'pool directory (created on first start)', './data')
    .option('--address <host:port>', 'listen address (port 0: any free port)', undefined)
    .option('--metrics-address <host:port>', 'also serve GET /metrics there, without authentication (for Prometheus; keep it private)')
    .option('--config <file>', 'JSON config file (disks, k/m, failure domain, address, domain, region, limits, logLevel)')
    .option('--domain <name>', 'serve virtual-host-style requests for BUCKET.<name>')
    .option('--region <name>', 'the region clients sign for (default us-east-1)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (default info)')
    .action(async (o: ServeOptions, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const running = await startServer({
        dataDir: o.data,
        ...(o.address !== undefined ? { address: o.address } : {}),
        ...(o.metricsAddress !== undefined ? { metricsAddress: o.metricsAddress } : {}),
        ...(o.config !== undefined ? { configFile: o.config } : {}),
        ...(o.domain !== undefined ? { domain: o.domain } : {}),
        ...(o.region !== undefined ? { region: o.region } : {}),
        ...(o.logLevel !== undefined ? { logLevel: o.logLevel } : {}),
        ...(ctx.open.witness !== undefined ? { witness: ctx.open.witness } : {}),
        // The global --break-glass --reason: accepts a catalog behind its witness and a setting below the floor.
        ...(ctx.open.breakGlass !== undefined ? { breakGlass: { reason: ctx.open.breakGlass.reason } } : {}),
      });
      const { url, root } = running;
      // A daemon stays up: a stray rejected promise is logged, not fatal (uncaught exceptions still are:
      // the process state is unknown after one).
      process.on('unhandledRejection', (reason) => process.stderr.write(`shardvault serve: unhandled rejection (kept running): ${String((reason as Error)?.stack ?? reason)}\n`));
      const lines = [`listening ${url}`, ...(running.metricsUrl !== undefined ? [`metrics ${running.metricsUrl}`] : [])];
      if (root.secretAccessKey !== undefined) {
        lines.push(
          `root access key: ${root.accessKeyId}`,
          `root secret key: ${root.secretAccessKey}   (shown once; stored encrypted under ${o.data}/meta/auth)`,
          `try: AWS_ACCESS_KEY_ID=${root.accessKeyId} AWS_SECRET_ACCESS_KEY=${root.secretAccessKey} AWS_DEFAULT_REGION=${running.config.region} aws --endpoint-url ${url} s3 ls`,
        );
      } else {
        lines.push(`root access key: ${root.accessKeyId} (secret as given at first start, or SHARDVAULT_ROOT_SECRET_KEY)`);
      }
      ctx.result({ event: 'listening', url, address: running.address, ...(running.metricsUrl !== undefined ? { metricsUrl: running.metricsUrl } : {}), rootAccessKeyId: root.accessKeyId, ...(root.secretAccessKey !== undefined ? { rootSecretAccessKey: root.secretAccessKey } : {}), configSha256: running.configSha256 }, lines);
      await new Promise<void>((resolve, reject) => {
        let signalled = false;
        const onSignal = (sig: NodeJS.Signals) => {
          if (signalled) {
            process.stderr.write(`shardvault: second ${sig}: exiting now\n`);
            process.exit(sig === 'SIGINT' ? 130 : 143);
          }
          signalled = true;
          process.stderr.write(`shardvault: ${sig}: finishing in-flight requests, then closing the pool (${sig} again to exit at once)\n`);
          running.close().then(() => {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
            resolve();
          }, reject);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
    });
}
