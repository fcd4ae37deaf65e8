// Child for the Vault power-cut test: formats a 4+2 pool of six directories under argv[3], puts two objects
// and prints "acked <n>" after each put resolved, then exits without closing (a crash right after the acks).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [distDir, base] = process.argv.slice(2);
const { Vault } = await import(join(distDir, 'lib', 'vault.js'));
const disks = Array.from({ length: 6 }, (_, i) => {
  mkdirSync(join(base, `d${i}`), { recursive: true });
  return { path: join(base, `d${i}`) };
});
const vault = await Vault.init({ disks, metaDir: join(base, 'meta'), k: 4, m: 2, blockBytes: 16384 });
await vault.createBucket('bkt');
await vault.put('bkt', 'one', Buffer.alloc(100_000, 0x41));
console.log('acked 1');
await vault.put('bkt', 'two', Buffer.alloc(7, 0x42));
console.log('acked 2');
process.exit(0);
