// Child for the crash sweeps: opens an existing pool and runs one mutation, printing "acked" once it resolved,
// then writes another object and prints "done" (so crash points also fall after the acknowledged commit).
// Usage: vault-child.mjs dist metaDir [put|delete]
//   put (default): overwrites b/k with version 2 (deterministic bytes, several stripes of 4+2 x 4 KiB)
//   delete:        deletes b/d (an existing striped object)
import { join } from 'node:path';

const [distDir, meta, mode = 'put'] = process.argv.slice(2);
const { Vault } = await import(join(distDir, 'lib', 'vault.js'));
const vault = await Vault.open(meta, { orphanGraceMs: 3600_000 });
if (mode === 'delete') await vault.delete('bkt', 'd');
else await vault.put('bkt', 'k', Buffer.alloc(3 * 4096 * 4 + 100, 0x32));
console.log('acked');
await vault.put('bkt', 'other', Buffer.alloc(9000, 0x33));
console.log('done');
process.exit(0);
