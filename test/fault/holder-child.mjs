// Child for the read-only open test: opens a pool read-write (holding its lock), prints "ready", and then
// obeys lines on stdin: "put KEY N" writes N bytes of 0x61 to bkt/KEY and prints "put KEY"; "close" closes
// the vault and exits.
// Usage: holder-child.mjs dist metaDir
import { createInterface } from 'node:readline';
import { join } from 'node:path';

const [distDir, meta] = process.argv.slice(2);
const { Vault } = await import(join(distDir, 'lib', 'vault.js'));
const vault = await Vault.open(meta);
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, key, size] = line.trim().split(' ');
  if (cmd === 'put') {
    await vault.put('bkt', key, Buffer.alloc(Number(size), 0x61));
    console.log(`put ${key}`);
  } else if (cmd === 'close') break;
}
await vault.close();
console.log('closed');
