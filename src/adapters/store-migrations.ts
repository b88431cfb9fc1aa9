import type Database from 'better-sqlite3';

// One step of the store's schema. Steps are forward-only and run in order at open, each in its own
// transaction that also sets PRAGMA user_version to its version: a store is always at one version,
// never between two. Step 1 must hold over any store made before versions were recorded (user_version
// 0, some or all of its tables); every later step may assume the version before it.
export interface Migration {
  version: number;
  why: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    why: 'the schema as it was when versions began to be recorded; IF NOT EXISTS throughout, so that a store made before then gains what it lacks (dead_letters, events_of_placement)',
    up: (db) =>
      db.exec(`
CREATE TABLE IF NOT EXISTS bans (
  jail TEXT NOT NULL,
  address TEXT NOT NULL,
  family INTEGER NOT NULL,
  banned_at INTEGER NOT NULL,
  last_activity INTEGER NOT NULL,
  ended_at INTEGER,
  end_reason TEXT,
  permanent INTEGER NOT NULL,
  source TEXT NOT NULL,
  reason TEXT,
  offences INTEGER NOT NULL,
  tier INTEGER NOT NULL,
  PRIMARY KEY (jail, address)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  jail TEXT NOT NULL,
  address TEXT NOT NULL,
  action TEXT NOT NULL,
  source TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_jail ON events (jail, time);
CREATE INDEX IF NOT EXISTS events_of_placement ON events (jail, action) WHERE action IN ('evicted', 'unplaced', 'moved');
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  target TEXT NOT NULL,
  verb TEXT NOT NULL,
  jail TEXT NOT NULL,
  address TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_target ON outbox (target, seq);
CREATE TABLE IF NOT EXISTS dead_letters (
  seq INTEGER PRIMARY KEY,
  target TEXT NOT NULL,
  verb TEXT NOT NULL,
  jail TEXT NOT NULL,
  address TEXT NOT NULL,
  created INTEGER NOT NULL,
  refused_at INTEGER NOT NULL,
  answer TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_target ON dead_letters (target, seq);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivered (
  id TEXT PRIMARY KEY,
  time INTEGER NOT NULL
) WITHOUT ROWID;
`),
  },
  {
    version: 2,
    why: 'the fleet: a decision published to the other hosts carries its permanence, tier and reason, so the outbox keeps them',
    up: (db) =>
      db.exec(`
ALTER TABLE outbox ADD COLUMN permanent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN tier INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN reason TEXT;
`),
  },
];

// A store whose schema is newer than this xtban knows: its tables may mean what this one cannot read.
export class NewerStoreError extends Error {
  readonly code = 'XTBAN_NEWER_STORE';
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(`user_version ${found}, newest known ${known}`);
    this.name = 'NewerStoreError';
  }
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

// Refuses a store newer than these migrations know, without writing to it.
export function refuseNewer(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const version = schemaVersion(db);
  const known = latestOf(migrations);
  if (version > known) throw new NewerStoreError(version, known);
  return version;
}

// Brings the store up to the last of `migrations`, one step per transaction; returns the version it is at.
// The version is read again under the write lock: another process may have moved the store on meanwhile.
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const known = latestOf(migrations);
  let version = refuseNewer(db, migrations);
  while (version < known) {
    db.exec('BEGIN IMMEDIATE');
    try {
      version = refuseNewer(db, migrations);
      const step = migrations.find((migration) => migration.version > version);
      if (step !== undefined) {
        step.up(db);
        db.pragma(`user_version = ${step.version}`);
        version = step.version;
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }
  return version;
}

// The list's last version; its versions must run 1, 2, 3 ... with no gap and no repeat.
function latestOf(migrations: readonly Migration[]): number {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`store migration ${index + 1} is numbered ${migration.version}`);
  });
  return migrations.length;
}
