/** What the root-tier tests (loop-mounted disks) need on this machine, as readable reasons for a skip. */
import { existsSync } from 'node:fs';

import { buildMissing, have, isRoot } from './tier.js';

/** Missing prerequisites: root, the given tools, loop devices, the addon and (when named) a built dist/ file. */
export function loopDiskMissing(tools: string[], distFile?: string): string[] {
  return [
    isRoot() ? null : 'root',
    ...tools.map((c) => (have(c) ? null : c)),
    existsSync('/dev/loop-control') ? null : 'loop devices (/dev/loop-control)',
  ].filter((x): x is string => x !== null).concat(buildMissing(distFile));
}
