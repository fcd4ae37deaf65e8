// Child for the catalog errno sweep: opens the pool at argv[3] (under the fault shim, which fails calls on the
// catalog's files), puts six objects (inline and striped, alternating), then tries one more put, a read of the
// first acked object and status(), and prints one JSON line of what happened. Exits 0 whatever the engine did:
// a crash (signal, unhandled rejection) is what the sweep looks for. Usage: catalog-fault-child.mjs dist meta
import { join } from 'node:path';

const [distDir, meta] = process.argv.slice(2);
const { Vault } = await import(join(distDir, 'lib', 'index.js'));
const data = (i) => Buffer.alloc(i % 2 === 0 ? 100 : 100_000, i + 1);
const out = { open: null, puts: [], after: null, read: null, catalog: null };
let vault;
try {
  vault = await Vault.open(meta);
  out.open = { ok: true };
} catch (err) {
  out.open = { ok: false, code: err.code, errno: err.errno, message: err.message };
  console.log(JSON.stringify(out));
  process.exit(0);
}
for (let i = 0; i < 6; i++) {
  try {
    await vault.put('bkt', `o${i}`, data(i));
    out.puts.push({ key: `o${i}`, ok: true });
  } catch (err) {
    out.puts.push({ key: `o${i}`, ok: false, code: err.code, errno: err.errno, syscall: err.syscall, message: err.message });
  }
}
try {
  await vault.put('bkt', 'after', Buffer.alloc(10, 9));
  out.after = { ok: true };
} catch (err) {
  out.after = { ok: false, code: err.code };
}
const first = out.puts.find((p) => p.ok);
if (first !== undefined) {
  try {
    out.read = Buffer.from(await vault.getBuffer('bkt', first.key)).equals(data(Number(first.key.slice(1))));
  } catch (err) {
    out.read = err.code;
  }
}
out.catalog = (await vault.status()).catalog;
console.log(JSON.stringify(out));
await vault.close().catch(() => undefined);
process.exit(0);
