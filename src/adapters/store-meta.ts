import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { BanStore } from './ban-store.js';
import { lazy, type Guarded } from './store-open.js';

// The meta table: this store's instance name and small facts kept with the bans.
export function metaTables(db: Database.Database, guarded: Guarded): Pick<BanStore, 'instance' | 'meta' | 'setMeta' | 'metaEntries'> {
  const selectMeta = lazy(() => db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'));
  const insertMeta = lazy(() => db.prepare<[string, string]>('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)'));
  const selectPrefixed = lazy(() =>
    db.prepare<[string, string], { key: string; value: string }>('SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key'),
  );
  const replaceMeta = lazy(() => db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'));

  return {
    instance: () =>
      guarded(() => {
        insertMeta().run('instance', randomBytes(6).toString('hex'));
        return selectMeta().get('instance')?.value ?? 'xtban';
      }),
    meta: (key) => guarded(() => selectMeta().get(key)?.value),
    // Keys from prefix up to (not including) the prefix with its last character raised: a range, no LIKE escapes.
    metaEntries: (prefix) =>
      guarded(() =>
        selectPrefixed()
          .all(prefix, prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1))
          .map((row) => [row.key, row.value] as [string, string]),
      ),
    setMeta: (key, value) => {
      guarded(() => replaceMeta().run(key, value));
    },
  };
}
