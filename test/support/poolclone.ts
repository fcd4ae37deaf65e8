// Cheap copies of a pool for the crash sweeps (vault-crash, vault-repair-crash): a pool is several disks x 256
// fan-out directories, and copying one per crash point took ~0.4-1.5 s. A worker clones the template once
// (directories made, shard files and other disk files hard-linked: the vault never writes one in place) and
// after each crash point resets it by unlinking what the run added and re-linking what it removed. Copy-log
// segments are copied instead (small: closed segments are cut back to what was written; but a recycled one is
// written in place), and so is the meta directory (LMDB writes in place).
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { defaultWitnessPath } from '../../lib/security/witness.js';

/** Every file under a pool's disks (not the meta directory), relative to the pool; `dirs` collects directories. */
export function poolFiles(pool: string, dirs?: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        dirs?.push(relative(pool, p));
        walk(p);
      } else out.push(relative(pool, p));
    }
  };
  for (const e of readdirSync(pool)) {
    if (e === 'meta' || !statSync(join(pool, e)).isDirectory()) continue;
    dirs?.push(e);
    walk(join(pool, e));
  }
  return out.sort();
}

export class PoolTemplate {
  readonly files: string[];
  readonly #dirs: string[] = [];

  /** `template`: a closed pool whose meta directory is `<template>/meta`. */
  constructor(readonly template: string) {
    this.files = poolFiles(template, this.#dirs);
  }

  clone(pool: string): void {
    for (const d of this.#dirs) mkdirSync(join(pool, d), { recursive: true });
    for (const f of this.files) this.#place(pool, f);
    this.#copyMeta(pool);
  }

  /** Back to the template state after a run: touches only what the run changed (and the small copied files). */
  reset(pool: string): void {
    const keep = new Set(this.files);
    const have = new Set(poolFiles(pool));
    for (const f of have) if (!keep.has(f) || copied(f)) unlinkSync(join(pool, f));
    for (const f of this.files) if (!have.has(f) || copied(f)) this.#place(pool, f);
    this.#copyMeta(pool);
  }

  #place(pool: string, f: string): void {
    if (copied(f)) copyFileSync(join(this.template, f), join(pool, f));
    else linkSync(join(this.template, f), join(pool, f));
  }

  #copyMeta(pool: string): void {
    // Going back to the template is a restore of an older state on purpose: the clone's freshness witness
    // (ahead of the template) goes too, or the next open would rightly refuse the pool as rolled back.
    const { poolId } = JSON.parse(readFileSync(join(this.template, 'meta', 'pool.json'), 'utf8')) as { poolId: string };
    rmSync(defaultWitnessPath(poolId, join(pool, 'meta')), { force: true });
    rmSync(join(pool, 'meta'), { recursive: true, force: true });
    cpSync(join(this.template, 'meta'), join(pool, 'meta'), { recursive: true });
    const meta = join(pool, 'meta', 'pool.json');
    writeFileSync(meta, readFileSync(meta, 'utf8').split(this.template).join(pool));
  }
}

const copied = (f: string) => f.includes('/log/');

/** Runs a fault-sweep child under the LD_PRELOAD shim, counting calls on `pool` only, one thread-pool thread. */
export function runFaultChild(script: string, args: string[], pool: string, shim: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, LD_PRELOAD: shim, FAULT_PREFIX: `${pool}/`, UV_THREADPOOL_SIZE: '1', UV_USE_IO_URING: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ stdout, stderr, code, signal }));
  });
}
