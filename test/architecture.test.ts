// The import graph of lib/ keeps the shape the architecture promises (docs/design.md, "Layers"). Read from
// the sources, not the compiled output, so a violation names the file and line that introduced it.
//
// Rules:
//  - no import cycles between modules;
//  - each heavy dependency enters through one module: the native addon (lib/native.ts), LMDB and pg (their
//    catalog backends), the CLI parser (lib/cli/), the pure-TS hash (lib/hash.ts), pino (lib/server/log.ts),
//    prom-client (lib/server/metrics.ts);
//  - the library never imports the CLI, the tests or the benchmarks;
//  - layers, once their folders exist: lib/format/ is pure (no node:fs, no addon, no catalog); lib/store/ and
//    lib/catalog/ never import lib/engine/; lib/engine/ uses stores and catalogs through their interfaces,
//    never lib/store/local/, lib/catalog/lmdb.ts or lib/catalog/postgres.ts directly (Vault wires the
//    implementations in); lib/store/ never imports lib/vault.ts, and lib/store/shard-store.ts (the seam) holds
//    types only.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const libDir = join(root, 'lib');

interface Edge { from: string; to: string; line: number; }

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

const files = walk(libDir).map((f) => relative(root, f));
const edges: Edge[] = [];
const external: Edge[] = [];
const importRe = /(?:^|\s)(?:import|export)\s(?:[^'"]*?\sfrom\s)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;

for (const file of files) {
  const text = readFileSync(join(root, file), 'utf8');
  const lines = text.split('\n');
  lines.forEach((lineText, i) => {
    if (/^\s*(\/\/|\*)/.test(lineText)) return;
    for (const m of lineText.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('.')) {
        const target = relative(root, resolve(root, dirname(file), spec.replace(/\.js$/, '.ts')));
        edges.push({ from: file, to: target, line: i + 1 });
      } else {
        external.push({ from: file, to: spec, line: i + 1 });
      }
    }
  });
}


const where = (e: Edge) => `${e.from}:${e.line} imports ${e.to}`;
const under = (file: string, dir: string) => file.startsWith(`lib/${dir}/`) || file === `lib/${dir}.ts`;

describe('architecture: the import graph of lib/', () => {
  it('reads a plausible graph (the scanner itself works)', () => {
    expect(files).toContain('lib/vault.ts');
    expect(edges.some((e) => e.from === 'lib/index.ts' && e.to === 'lib/vault.ts')).toBe(true);
    expect(external.some((e) => e.to === 'lmdb')).toBe(true);
    for (const e of edges) expect(files, `${where(e)}: no such module`).toContain(e.to);
  });

  it('has no import cycles', () => {
    const next = new Map<string, string[]>();
    for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of next.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('lets each heavy dependency in through one module', () => {
    const owners: Array<[RegExp, (file: string) => boolean, string]> = [
      [/^lmdb$/, (f) => f === 'lib/catalog/lmdb.ts', 'the LMDB catalog backend'],
      [/^pg$/, (f) => f === 'lib/catalog/postgres.ts', 'the PostgreSQL catalog backend'],
      [/^commander$/, (f) => under(f, 'cli'), 'lib/cli/'],
      [/^@noble\/hashes/, (f) => f === 'lib/hash.ts', 'lib/hash.ts'],
      [/^node-gyp-build$/, (f) => f === 'lib/native.ts', 'lib/native.ts'],
      [/^fast-xml-parser$/, (f) => f === 'lib/server/xml.ts', 'lib/server/xml.ts (S3 request bodies: entities off, bounded)'],
      [/^zod$/, (f) => f === 'lib/server/config.ts', 'lib/server/config.ts (the daemon config schema)'],
      [/^pino$/, (f) => f === 'lib/server/log.ts', 'lib/server/log.ts'],
      [/^prom-client$/, (f) => f === 'lib/server/metrics.ts', 'lib/server/metrics.ts'],
      [/^node:module$/, (f) => f === 'lib/native.ts' || under(f, 'cli'), 'lib/native.ts (createRequire of the addon) and the CLI (package.json)'],
    ];
    const bad = external.filter((e) => owners.some(([re, ok]) => re.test(e.to) && !ok(e.from)));
    expect(bad.map((e) => `${where(e)}, which only ${owners.find(([re]) => re.test(e.to))![2]} may`)).toEqual([]);
  });

  it('keeps the library free of the CLI, the tests and the benchmarks', () => {
    const bad = edges.filter((e) =>
      (!under(e.from, 'cli') && under(e.to, 'cli')) || e.to.startsWith('test/') || e.to.startsWith('bench/'));
    expect(bad.map(where)).toEqual([]);
  });

  it('keeps the layers apart (format pure; store and catalog below engine; engine through interfaces)', () => {
    const bad = [
      ...external.filter((e) => under(e.from, 'format') && /^node:fs|^lmdb$|^node-gyp-build$/.test(e.to)),
      ...edges.filter((e) => under(e.from, 'format') && (e.to === 'lib/native.ts' || under(e.to, 'store') || under(e.to, 'catalog') || under(e.to, 'engine'))),
      ...edges.filter((e) => (under(e.from, 'store') || under(e.from, 'catalog')) && under(e.to, 'engine')),
      ...edges.filter((e) => under(e.from, 'engine') && (e.to.startsWith('lib/store/local/') || e.to === 'lib/catalog/lmdb.ts' || e.to === 'lib/catalog/postgres.ts')),
      // The engine never touches a file system: every path and fs call belongs to a store (or the wiring).
      ...external.filter((e) => under(e.from, 'engine') && /^node:fs/.test(e.to)),
    ];
    expect(bad.map(where)).toEqual([]);
  });

  it('keeps lib/store/ below the engine and the vault, and the ShardStore seam free of code', () => {
    const bad = [
      ...edges.filter((e) => under(e.from, 'store') && (under(e.to, 'engine') || e.to === 'lib/vault.ts')),
    ];
    expect(bad.map(where)).toEqual([]);
    // The seam is what both sides agree on: types only (type-only imports, interfaces and type aliases), so
    // importing it never drags an implementation in.
    const seam = readFileSync(join(root, 'lib/store/shard-store.ts'), 'utf8').split('\n');
    const code = seam.flatMap((l, i) =>
      (/^\s*import\s(?!type\s)/.test(l) || /^export\s+(?!interface\s|type\s)/.test(l) ? [`lib/store/shard-store.ts:${i + 1}: ${l.trim()}`] : []));
    expect(code).toEqual([]);
  });
});
