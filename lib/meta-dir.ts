/**
 * The meta directory (beside the catalog, never one of the disks): init's preflight of it and the bootstrap
 * pool configuration, pool.json. Wiring, used by Vault's open and init (the engine sees it through MetaFiles).
 */
import { constants as fsConstants, existsSync } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { PoolConfig } from './engine/pool-setup.js';
import { ErrorCode, ShardVaultError, diskError } from './errors.js';
import { checkPoolFormat } from './format/versions.js';
import { writableAncestor } from './store/local/preflight.js';

/** Refuses a meta directory that already holds (part of) a pool or is not a directory. Writes nothing. */
export async function preflightMetaDir(metaDir: string): Promise<void> {
  const st = await stat(metaDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw diskError('metaDir', metaDir, err, 'checking');
  });
  if (st === null) return writableAncestor('metaDir', metaDir);
  if (!st.isDirectory()) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `metaDir ${metaDir} is not a directory`, { path: metaDir });
  await access(metaDir, fsConstants.W_OK | fsConstants.X_OK).catch((err: unknown) => {
    throw diskError('metaDir', metaDir, err, 'checking it is writable');
  });
  for (const f of ['pool.json', 'pool.key', 'catalog']) {
    if (existsSync(join(metaDir, f))) throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `metaDir ${metaDir} already holds a pool (${f})`, { path: metaDir });
  }
}

/** The bootstrap pool configuration, refused (ERR_SV_FORMAT_VERSION) when its format is not one this release reads. */
export async function readPoolJson(metaDir: string): Promise<PoolConfig> {
  let text: string;
  try {
    text = await readFile(join(metaDir, 'pool.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ShardVaultError(ErrorCode.NOT_FOUND, `no pool in ${metaDir} (no pool.json there)`, { path: metaDir, cause: err });
    throw diskError('metaDir', metaDir, err, 'reading pool.json');
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new ShardVaultError(ErrorCode.CORRUPT, `pool.json in ${metaDir} is not JSON: ${(err as Error).message}`, { path: metaDir, cause: err });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ShardVaultError(ErrorCode.CORRUPT, `pool.json in ${metaDir} is not a pool configuration (not a JSON object)`, { path: metaDir });
  }
  // Before anything of the pool is opened or written: a format this release does not read is refused here.
  checkPoolFormat(config, `pool.json in ${metaDir}`);
  return config as PoolConfig;
}
