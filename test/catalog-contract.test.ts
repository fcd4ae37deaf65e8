// The catalog contract (test/support/catalog-contract.ts) against the LMDB backend.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

import { LmdbCatalog } from '../lib/catalog/lmdb.js';
import { catalogContract } from './support/catalog-contract.js';

const root = mkdtempSync(join(tmpdir(), 'sv-catc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

catalogContract('lmdb', { fresh: () => join(root, `c${n++}`), open: (where) => LmdbCatalog.open(where) });
