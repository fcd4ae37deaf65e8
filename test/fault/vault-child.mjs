// Child for the crash sweep: opens an existing pool and overwrites b/k with version 2 (deterministic bytes),
// printing "acked" once put() resolved, then writes another object. Usage: vault-child.mjs dist metaDir
import { join } from 'node:path';

const [distDir, meta] = process.argv.slice(2);
const { Vault } = await import(join(distDir, 'lib', 'vault.js'));
const vault = await Vault.open(meta, { orphanGraceMs: 3600_000 });
const data = Buffer.alloc(3 * 4096 * 4 + 100, 0x32); // version 2: several stripes of 4+2 x 4 KiB
await vault.put('b', 'k', data);
console.log('acked');
// Keep doing I/O after the ack (another object), so crash points also fall after the acknowledged commit.
await vault.put('b', 'other', Buffer.alloc(9000, 0x33));
console.log('done');
process.exit(0);
