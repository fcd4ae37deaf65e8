/** What the root-tier tests (loop-mounted disks) need on this machine, as readable reasons for a skip. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { native } from '../../lib/native.js';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Missing prerequisites: root, the given tools, loop devices, the addon and (when named) a built dist/ file. */
export function loopDiskMissing(tools: string[], distFile?: string): string[] {
  const dist = join(__dirname, '..', '..', 'dist');
  return [
    process.getuid?.() === 0 ? null : 'root',
    ...tools.map((c) => (have(c) ? null : c)),
    existsSync('/dev/loop-control') ? null : 'loop devices (/dev/loop-control)',
    native() === null ? 'native addon' : null,
    distFile === undefined || existsSync(join(dist, distFile)) ? null : `dist/${distFile} (run npx tsc -p .)`,
  ].filter((x): x is string => x !== null);
}
