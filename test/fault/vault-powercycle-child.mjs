// Child for the Vault power-cut-after-every-ack test. Usage: vault-powercycle-child.mjs dist metaDir disksJson step
// Step 1 formats the pool (disks from disksJson) first; later steps open it. Then it runs operation <step>
// of the scenario (shared with the test through powercycle-ops.mjs), prints "acked <step>" once it resolved,
// and keeps putting b/noise (same bytes every time) until the parent freezes and kills it: the power cut
// lands right after the ack, with unacknowledged writes in flight.
import { join } from 'node:path';

import { NOISE, OPS } from './powercycle-ops.mjs';

const [distDir, meta, disksJson, stepText] = process.argv.slice(2);
const step = Number(stepText);
const { Vault } = await import(join(distDir, 'lib', 'vault.js'));
let vault;
if (step === 1) {
  vault = await Vault.init({ disks: JSON.parse(disksJson), metaDir: meta, k: 4, m: 2, blockBytes: 4096 });
  await vault.createBucket('bkt');
} else {
  vault = await Vault.open(meta, { orphanGraceMs: 3600_000 });
}
const op = OPS[step - 1];
if (op.data === null) await vault.delete('bkt', op.key);
else await vault.put('bkt', op.key, op.data);
console.log(`acked ${step}`);
for (;;) await vault.put('bkt', 'noise', NOISE);
