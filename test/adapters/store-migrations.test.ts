import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openBanStore, STORE_FILE } from '../../src/adapters/ban-store.js';
import { migrate, MIGRATIONS, type Migration } from '../../src/adapters/store-migrations.js';

// The schema this xtban writes: the last migration's.
const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;
import { ExitCode, XtbanError } from '../../src/core/errors.js';
import { scratchDir } from '../helpers/scratch.js';

// Made by xtban before user_version was recorded (schema 1 at user_version 0): see make-bans-v1.ts beside it.
const FIXTURE = fileURLToPath(new URL('../../fixtures/store/bans-v1.sqlite', import.meta.url));

// The tables as they were before dead_letters and events_of_placement existed.
const OLD_SCHEMA = `
CREATE TABLE bans (
  jail TEXT NOT NULL, address TEXT NOT NULL, family INTEGER NOT NULL, banned_at INTEGER NOT NULL, last_activity INTEGER NOT NULL,
  ended_at INTEGER, end_reason TEXT, permanent INTEGER NOT NULL, source TEXT NOT NULL, reason TEXT, offences INTEGER NOT NULL,
  tier INTEGER NOT NULL, PRIMARY KEY (jail, address)
) WITHOUT ROWID;
CREATE TABLE events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, jail TEXT NOT NULL, address TEXT NOT NULL, action TEXT NOT NULL, source TEXT NOT NULL, detail TEXT);
CREATE INDEX events_by_jail ON events (jail, time);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, verb TEXT NOT NULL, jail TEXT NOT NULL, address TEXT NOT NULL, created INTEGER NOT NULL);
CREATE INDEX outbox_by_target ON outbox (target, seq);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE delivered (id TEXT PRIMARY KEY, time INTEGER NOT NULL) WITHOUT ROWID;
`;

function readVersion(location: string): number {
  const db = new Database(location, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

function names(location: string): string[] {
  const db = new Database(location, { readonly: true });
  try {
    return (
      db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]
    ).map((row) => row.name);
  } finally {
    db.close();
  }
}

const CURRENT_NAMES = [
  'bans',
  'dead_letters',
  'dead_letters_by_target',
  'delivered',
  'events',
  'events_by_jail',
  'events_of_placement',
  'meta',
  'outbox',
  'outbox_by_target',
];

describe('store migrations', () => {
  it('opens a store of an earlier xtban with every ban, event, queued request, dead letter and meta value intact', () => {
    const dir = scratchDir('xtban-migrate-');
    const location = join(dir, STORE_FILE);
    copyFileSync(FIXTURE, location);
    expect(readVersion(location)).toBe(0);
    const store = openBanStore(dir);
    try {
      expect(
        store
          .list()
          .map((record) => [record.jail, record.address, record.family, record.permanent, record.endReason, record.offences, record.tier, record.reason]),
      ).toEqual([
        ['ssh', '192.0.2.1', 4, true, null, 1, 0, 'scanner'],
        ['ssh', '192.0.2.2', 4, false, 'unban', 1, 0, null],
        ['ssh', '192.0.2.3', 4, false, null, 2, 1, null],
        ['web', '2001:db8::5', 6, false, null, 1, 0, null],
      ]);
      expect(store.get('ssh', '192.0.2.2')).toMatchObject({ bannedAt: 1000, endedAt: 2000 });
      expect(store.get('ssh', '192.0.2.3')).toMatchObject({ bannedAt: 70_000, lastActivity: 70_000, source: 'fail2ban' });
      expect(store.events(undefined, 100).map((event) => [event.time, event.jail, event.address, event.action])).toEqual([
        [80_000, 'web', '198.51.100.7', 'evicted'],
        [70_000, 'ssh', '192.0.2.3', 'repeat'],
        [3000, 'ssh', '192.0.2.3', 'ban'],
        [2000, 'ssh', '192.0.2.2', 'unban'],
        [1000, 'web', '2001:db8::5', 'ban'],
        [1000, 'ssh', '192.0.2.2', 'ban'],
        [1000, 'ssh', '192.0.2.1', 'ban'],
      ]);
      expect(store.placementCounts()).toEqual([{ jail: 'web', action: 'evicted', count: 1 }]);
      expect(store.pending('fw', 10).map((item) => [item.seq, item.verb, item.jail, item.address, item.created])).toEqual([
        [2, 'unban', 'ssh', '192.0.2.2', 90_000],
        [3, 'ban', 'web', '2001:db8::5', 90_000],
      ]);
      expect(store.deadLetters('fw', 10)).toEqual([
        {
          seq: 1,
          target: 'fw',
          verb: 'ban',
          jail: 'ssh',
          address: '192.0.2.3',
          created: 90_000,
          refusedAt: 95_000,
          answer: 'error refused: jail ssh is not permitted here',
        },
      ]);
      expect(store.delivered('abc123-7')).toBe(true);
      expect(store.meta('instance')).toMatch(/^[0-9a-f]{12}$/);
      const instance = store.meta('instance');
      expect(store.instance()).toBe(instance);
      // A new request follows the old ones: the outbox's sequence carried on.
      store.enqueue([{ target: 'fw', verb: 'flush', jail: 'ssh', address: '' }], 100_000);
      expect(store.pending('fw', 10).map((item) => item.seq)).toEqual([2, 3, 4]);
    } finally {
      store.close();
    }
    expect(readVersion(location)).toBe(SCHEMA_VERSION);
    expect(names(location)).toEqual(CURRENT_NAMES);
  });

  it('brings a store of user_version 0 with the old tables only up to date, keeping its rows', () => {
    const dir = scratchDir('xtban-migrate-');
    const location = join(dir, STORE_FILE);
    const old = new Database(location);
    old.pragma('journal_mode = WAL');
    old.exec(OLD_SCHEMA);
    old.prepare("INSERT INTO bans VALUES ('ssh', '192.0.2.8', 4, 1000, 1000, NULL, NULL, 1, 'cli', NULL, 1, 0)").run();
    old.prepare("INSERT INTO events (time, jail, address, action, source, detail) VALUES (1000, 'ssh', '192.0.2.8', 'ban', 'cli', NULL)").run();
    old.prepare("INSERT INTO outbox (target, verb, jail, address, created) VALUES ('fw', 'ban', 'ssh', '192.0.2.8', 1000)").run();
    old.close();
    expect(names(location)).not.toContain('dead_letters');

    const store = openBanStore(dir);
    try {
      expect(store.get('ssh', '192.0.2.8')).toMatchObject({ permanent: true, endedAt: null });
      expect(store.events('ssh', 10).map((event) => event.action)).toEqual(['ban']);
      const [queued] = store.pending('fw', 10);
      expect(queued).toMatchObject({ verb: 'ban', address: '192.0.2.8' });
      // The new tables work: a refused request moves to the dead letters.
      store.settle([], [{ seq: queued!.seq, answer: 'error refused: no' }], 2000);
      expect(store.deadLetterCounts()).toEqual(new Map([['fw', 1]]));
      store.note([{ time: 3000, jail: 'ssh', address: '192.0.2.9', action: 'unplaced', source: 'cli', detail: null }]);
      expect(store.placementCounts()).toEqual([{ jail: 'ssh', action: 'unplaced', count: 1 }]);
    } finally {
      store.close();
    }
    expect(readVersion(location)).toBe(SCHEMA_VERSION);
    expect(names(location)).toEqual(CURRENT_NAMES);
  });

  it('makes a new store at the current version', () => {
    const dir = scratchDir('xtban-migrate-');
    openBanStore(dir).close();
    // The temporary file it was made in is gone.
    expect(readdirSync(dir)).toEqual([STORE_FILE]);
    expect(readVersion(join(dir, STORE_FILE))).toBe(SCHEMA_VERSION);
    expect(names(join(dir, STORE_FILE))).toEqual(CURRENT_NAMES);
  });

  it('refuses a store made by a newer xtban, and leaves it untouched', () => {
    const dir = scratchDir('xtban-migrate-');
    const location = join(dir, STORE_FILE);
    // Left in SQLite's default journal mode: even switching it to WAL would be a write.
    const newer = new Database(location);
    newer.exec('CREATE TABLE bans (jail TEXT, address TEXT, something_new BLOB)');
    newer.prepare("INSERT INTO bans VALUES ('ssh', '192.0.2.1', x'00')").run();
    newer.pragma('user_version = 99');
    newer.close();
    const before = readFileSync(location);

    let caught: unknown;
    try {
      openBanStore(dir).close();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(XtbanError);
    const error = caught as XtbanError;
    expect(error.exitCode).toBe(ExitCode.system);
    expect(error.message).toContain(`ban store ${location}: made by a newer xtban (schema 99, this one knows ${SCHEMA_VERSION}): upgrade xtban, or `);
    expect(readFileSync(location).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual([STORE_FILE]);
  });

  it('runs each step in its own transaction, in order, and rolls back the one that throws', () => {
    const db = new Database(':memory:');
    const ran: number[] = [];
    const steps: Migration[] = [
      {
        version: 1,
        why: 'a table',
        up: (d) => {
          ran.push(1);
          d.exec('CREATE TABLE one (x INTEGER)');
        },
      },
      {
        version: 2,
        why: 'a row',
        up: (d) => {
          ran.push(2);
          d.exec('INSERT INTO one VALUES (2)');
        },
      },
      {
        version: 3,
        why: 'fails halfway',
        up: (d) => {
          ran.push(3);
          d.exec('CREATE TABLE three (y INTEGER); INSERT INTO one VALUES (3)');
          throw new Error('step 3 failed');
        },
      },
    ];
    expect(() => migrate(db, steps)).toThrow('step 3 failed');
    expect(ran).toEqual([1, 2, 3]);
    // Steps 1 and 2 stay committed; nothing of step 3 remains, and the version says so.
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.inTransaction).toBe(false);
    expect(db.prepare('SELECT x FROM one').pluck().all()).toEqual([2]);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'three'").pluck().get()).toBe(0);

    // Fixed, the list goes on from where the store is: steps 1 and 2 do not run again.
    ran.length = 0;
    steps[2] = {
      version: 3,
      why: 'fixed',
      up: (d) => {
        ran.push(3);
        d.exec('INSERT INTO one VALUES (3)');
      },
    };
    expect(migrate(db, steps)).toBe(3);
    expect(ran).toEqual([3]);
    expect(db.prepare('SELECT x FROM one').pluck().all()).toEqual([2, 3]);
    // Up to date: nothing runs.
    expect(migrate(db, steps)).toBe(3);
    expect(ran).toEqual([3]);
    db.close();
  });

  it('refuses a list that skips or repeats a version, and a newer store, before running anything', () => {
    const db = new Database(':memory:');
    const noop = () => undefined;
    expect(() =>
      migrate(db, [
        { version: 1, why: '', up: noop },
        { version: 3, why: '', up: noop },
      ]),
    ).toThrow('store migration 2 is numbered 3');
    db.pragma('user_version = 5');
    expect(() => migrate(db, MIGRATIONS)).toThrow(/user_version 5/);
    expect(db.prepare('SELECT count(*) FROM sqlite_master').pluck().get()).toBe(0);
    db.close();
  });

  it('migration 1 holds over a store that already has every table', () => {
    const db = new Database(':memory:');
    MIGRATIONS[0]!.up(db);
    const before = db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
    expect(migrate(db, MIGRATIONS.slice(0, 1))).toBe(1);
    expect(db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all()).toEqual(before);
    db.close();
  });

  it('migration 2 gives the queued requests of a version 1 store the fleet fields, keeping them in order', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.slice(0, 1));
    db.prepare("INSERT INTO outbox (target, verb, jail, address, created) VALUES ('fw', 'ban', 'ssh', '192.0.2.8', 1000)").run();
    db.prepare("INSERT INTO outbox (target, verb, jail, address, created) VALUES ('fw', 'unban', 'ssh', '192.0.2.8', 2000)").run();
    expect(migrate(db)).toBe(2);
    expect(db.prepare('SELECT seq, verb, permanent, tier, reason FROM outbox ORDER BY seq').all()).toEqual([
      { seq: 1, verb: 'ban', permanent: 0, tier: 0, reason: null },
      { seq: 2, verb: 'unban', permanent: 0, tier: 0, reason: null },
    ]);
    db.close();
  });
});
