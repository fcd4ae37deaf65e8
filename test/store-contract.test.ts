// The ShardStore contract (test/support/store-contract.ts) against a directory disk and the memory store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LocalStore, localStores } from '../lib/store/local/local-store.js';
import { memoryStores } from '../lib/store/memory.js';
import type { MemberConfig } from '../lib/store/shard-store.js';
import { storeContract } from './support/store-contract.js';

const poolId = '0123456789abcdef0123456789abcdef';

storeContract('LocalStore (formatted temporary directory)', async () => {
  const base = await mkdtemp(join(tmpdir(), 'sv-store-'));
  const member: MemberConfig = { id: 'd0', path: join(base, 'd0'), labels: {}, dev: 0, state: 'active' };
  await localStores.format(member, poolId);
  const store = localStores.open(member, poolId);
  if (!(store instanceof LocalStore)) throw new Error('localStores.open must give a LocalStore');
  return { store, cleanup: () => rm(base, { recursive: true, force: true }) };
});

storeContract('MemoryStore', async () => {
  const provider = memoryStores();
  const member: MemberConfig = { id: 'm0', path: '', labels: {}, dev: 0, state: 'active' };
  await provider.format(member, poolId);
  return { store: provider.open(member, poolId), cleanup: async () => undefined };
});
