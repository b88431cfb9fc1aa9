import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { BanStore } from './ban-store.js';
import { lazy, type Guarded } from './store-open.js';

// The meta table: this store's instance name, its shard key, and small facts such as the placement flag.
export function metaTables(db: Database.Database, guarded: Guarded): Pick<BanStore, 'instance' | 'shardKey' | 'meta' | 'setMeta'> {
  const selectMeta = lazy(() => db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'));
  const insertMeta = lazy(() => db.prepare<[string, string]>('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)'));
  const replaceMeta = lazy(() => db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'));

  return {
    instance: () =>
      guarded(() => {
        insertMeta().run('instance', randomBytes(6).toString('hex'));
        return selectMeta().get('instance')?.value ?? 'xtban';
      }),
    shardKey: () =>
      guarded(() => {
        insertMeta().run('shard_key', randomBytes(32).toString('hex'));
        const text = selectMeta().get('shard_key')?.value ?? '';
        // A key must be what was made: a changed one would move every ban's shard unseen.
        if (!/^[0-9a-f]{64}$/.test(text)) throw Object.assign(new Error(`its shard key is not 64 hex digits`), { code: 'SQLITE_CORRUPT' });
        return Buffer.from(text, 'hex');
      }),
    meta: (key) => guarded(() => selectMeta().get(key)?.value),
    setMeta: (key, value) => {
      guarded(() => replaceMeta().run(key, value));
    },
  };
}
