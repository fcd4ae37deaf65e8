// Child for the repair crash sweep: opens a pool whose failed disk was replaced (work is queued) and runs
// repair(), printing "repaired" when it resolved. Usage: repair-child.mjs dist metaDir
import { join } from 'node:path';

const [distDir, meta] = process.argv.slice(2);
const { Vault } = await import(join(distDir, 'lib', 'vault.js'));
const vault = await Vault.open(meta, { orphanGraceMs: 3600_000 });
const r = await vault.repair();
console.log(`repaired ${JSON.stringify(r)}`);
await vault.close();
process.exit(0);
