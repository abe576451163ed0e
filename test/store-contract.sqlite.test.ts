import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
// NOTE (issue 11): needs the asynchronous SqliteStore (`openSqliteStore(dataDir)` resolving to a
// `Store`) from the conversion in progress on another branch; until that is merged this file does
// not compile and its tests fail. The PostgreSQL half is store-contract.pg.test.ts.
import { openSqliteStore } from '../src/store/sqlite-store.js';
import type { Store } from '../src/store/types.js';
import { storeContract } from './support/store-contract.js';

const dirs = new Map<Store, string>();
afterAll(() => {
  for (const dir of new Set(dirs.values())) fs.rmSync(dir, { recursive: true, force: true });
});

storeContract(
  'sqlite',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-contract-'));
    const store = await openSqliteStore(dir);
    dirs.set(store, dir);
    return store;
  },
  {
    // Another connection on the same file: what a second process would have.
    async sibling(store) {
      const dir = dirs.get(store);
      if (!dir) throw new Error('sibling of a store this file did not open');
      const other = await openSqliteStore(dir);
      dirs.set(other, dir);
      return other;
    },
  },
);
