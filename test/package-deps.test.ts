// Every package the published code imports at run time must be in `dependencies`: a consumer installs
// only those (issue 10: @noble/hashes was a devDependency and `import('shardvault')` failed). Scans the
// sources statically, so it catches an import on a path no other test takes; the pack-install tier
// (test/pack-install.test.ts) proves the same for the real tarball.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Run-time module specifiers of one file: static imports and re-exports (not `import type`), dynamic
 * import() and require() with a literal argument. */
export function runtimeSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of code.matchAll(statement)) {
    if (m[2] !== undefined) continue; // `import type ... from`: erased at compile time
    if (m[1] === 'export' && m[3] === undefined) continue;
    out.push(m[4]);
  }
  for (const m of code.matchAll(/\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const builtins = new Set(builtinModules);

describe('run-time imports of the published code', () => {
  it('the scanner sees imports, skips type-only ones and comments', () => {
    const text = [
      "import { a } from 'x-pkg';",
      "import type { B } from 'types-only';",
      "export { c } from '@scope/pkg/sub.js';",
      "const r = createRequire(import.meta.url)('ignored-dynamic');",
      "const n = require('node-gyp-build');",
      "await import('lazy-pkg');",
      "// import { gone } from 'commented';",
      "import {\n  multi,\n  line,\n} from 'multi-line';",
    ].join('\n');
    expect(runtimeSpecifiers(text).sort()).toEqual(['@scope/pkg/sub.js', 'lazy-pkg', 'multi-line', 'node-gyp-build', 'x-pkg']);
  });

  it('every bare specifier in lib/ is a node: builtin or in dependencies', () => {
    const deps = new Set(Object.keys(pkg.dependencies ?? {}));
    const bad: string[] = [];
    let seen = 0;
    for (const file of sources(join(root, 'lib'))) {
      for (const spec of runtimeSpecifiers(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.') || spec.startsWith('/')) continue;
        seen++;
        if (spec.startsWith('node:')) continue;
        if (builtins.has(spec)) {
          bad.push(`${relative(root, file)}: '${spec}' (write node:${spec})`);
          continue;
        }
        if (!deps.has(packageName(spec))) bad.push(`${relative(root, file)}: '${spec}' is not in dependencies`);
      }
    }
    expect(seen).toBeGreaterThan(5);
    expect(bad).toEqual([]);
  });
});
