import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { closeSync, existsSync, linkSync, openSync, readSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Family } from '../core/address.js';
import { isLiveInTiers, planBan, type BanDecision, type BanRecord, type BanRequest } from '../core/bans.js';
import { ExitCode, XtbanError } from '../core/errors.js';
import { makeStateDir } from './state-dir.js';
import { migrate, NewerStoreError, refuseNewer } from './store-migrations.js';

export const STORE_FILE = 'bans.sqlite';

// One recorded event, for `xtban bans --history` and metrics.
export interface BanEvent {
  time: number;
  jail: string;
  address: string;
  action: 'ban' | 'refresh' | 'repeat' | 'unban' | 'flush' | 'evicted' | 'unplaced' | 'moved' | 'rehomed' | 'restored' | 'reaped';
  source: string;
  detail: string | null;
}

// A request waiting for a central firewall, in the order it was made.
export interface OutboxItem {
  seq: number;
  target: string;
  verb: 'ban' | 'unban' | 'flush';
  jail: string;
  // Empty for flush.
  address: string;
  created: number;
}

// A request a central firewall refused for good, moved out of the outbox so that it blocks nothing.
export interface DeadLetter extends OutboxItem {
  refusedAt: number;
  // The firewall's answer, as it came.
  answer: string;
}

// The durable store of bans: every change is one SQLite transaction, committed before the kernel is touched.
export interface BanStore {
  readonly location: string;
  get(jail: string, address: string): BanRecord | undefined;
  list(jail?: string): BanRecord[];
  // Bans not ended by unban, flush or the reaper: the only ones that can be live (restore, status, reap).
  open(jail?: string): BanRecord[];
  // Plans each request against the current record (core planBan) and writes the result, all in one transaction.
  // `outbox` turns the decisions into requests for central firewalls, queued in the same transaction.
  ban(
    requests: readonly BanRequest[],
    tierWindows: (jail: string) => readonly number[],
    nowMs: number,
    outbox?: (decisions: readonly BanDecision[]) => Omit<OutboxItem, 'seq' | 'created'>[],
  ): BanDecision[];
  // Ends the open bans of these addresses; returns the records that were open.
  unban(jail: string, addresses: readonly string[], source: string, nowMs: number): BanRecord[];
  // Ends every open ban of the jail; returns how many.
  flush(jail: string, source: string, nowMs: number): number;
  // Ends the open bans of these addresses (or, for 'all', of the whole jail) that `may` allows, and
  // leaves the others untouched, in one transaction: serve's unban and flush for a key that may end
  // only its own bans. Returns the records ended and the open records kept.
  endWhere(
    jail: string,
    addresses: readonly string[] | 'all',
    may: (record: BanRecord) => boolean,
    how: 'unban' | 'flush',
    source: string,
    nowMs: number,
  ): { ended: BanRecord[]; kept: BanRecord[] };
  // Ends the open bans among these that are over by `nowMs` (the reaper removed their entries); a ban
  // refreshed since the reaper looked stays open. Returns how many were ended.
  endIfOver(items: readonly { jail: string; address: string }[], tierWindows: (jail: string) => readonly number[], nowMs: number): number;
  // Raises lastActivity to what the kernel saw; returns how many records moved.
  touch(updates: readonly { jail: string; address: string; lastActivity: number }[]): number;
  // Appends events that change no ban (evictions found, bans put back).
  note(events: readonly BanEvent[]): void;
  events(jail?: string, limit?: number): BanEvent[];
  // How many entries full lists gave up, bans found no room, and bans moved shard, per jail, ever
  // (every process records them: the CLI, fail2ban's action, the daemon).
  placementCounts(): { jail: string; action: 'evicted' | 'unplaced' | 'moved'; count: number }[];
  // Queues requests for central firewalls; they survive restarts until a firewall answers them.
  enqueue(items: readonly Omit<OutboxItem, 'seq' | 'created'>[], nowMs: number): void;
  pending(target: string, limit: number): OutboxItem[];
  acknowledge(seqs: readonly number[]): void;
  // Acknowledges these requests and moves the refused ones into the dead letters, in one transaction
  // (a refused request is never in both, and never lost between them).
  settle(acknowledged: readonly number[], refused: readonly { seq: number; answer: string }[], nowMs: number): void;
  outboxSizes(): Map<string, number>;
  // Dead letters per target, and the newest of a target's (newest first).
  deadLetterCounts(): Map<string, number>;
  deadLetters(target: string, limit: number): DeadLetter[];
  // Removes a target's dead letters (every target's without one); returns how many.
  forgetDeadLetters(target?: string): number;
  // A random name for this store, so that request ids from different servers never collide.
  instance(): string;
  // This host's secret for choosing a ban's shard: made at first use, kept for good (placement stays
  // stable across restarts and cannot be predicted from outside).
  shardKey(): Buffer;
  // Small facts kept with the bans (for example, that the bans were moved to their keyed shards).
  meta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  // Request ids `xtban serve` has carried out, so that a request delivered twice acts once.
  delivered(id: string): boolean;
  markDelivered(id: string, nowMs: number): void;
  close(): void;
}

interface BanRow {
  jail: string;
  address: string;
  family: number;
  banned_at: number;
  last_activity: number;
  ended_at: number | null;
  end_reason: string | null;
  permanent: number;
  source: string;
  reason: string | null;
  offences: number;
  tier: number;
}

// The columns of BanRow in the order raw statements return them: rows as arrays cost half the time of
// rows as objects (10,000 rows: 13 against 25 ms).
const BAN_COLUMNS = 'jail, address, family, banned_at, last_activity, ended_at, end_reason, permanent, source, reason, offences, tier';
type RawBanRow = [string, string, number, number, number, number | null, string | null, number, string, string | null, number, number];

function fromRawRow(row: RawBanRow): BanRecord {
  return {
    jail: row[0],
    address: row[1],
    family: row[2] as Family,
    bannedAt: row[3],
    lastActivity: row[4],
    endedAt: row[5],
    endReason: row[6],
    permanent: row[7] === 1,
    source: row[8],
    reason: row[9],
    offences: row[10],
    tier: row[11],
  };
}

function fromRow(row: BanRow): BanRecord {
  return {
    jail: row.jail,
    address: row.address,
    family: row.family as Family,
    bannedAt: row.banned_at,
    lastActivity: row.last_activity,
    endedAt: row.ended_at,
    endReason: row.end_reason,
    permanent: row.permanent === 1,
    source: row.source,
    reason: row.reason,
    offences: row.offences,
    tier: row.tier,
  };
}

function toRow(record: BanRecord): BanRow {
  return {
    jail: record.jail,
    address: record.address,
    family: record.family,
    banned_at: record.bannedAt,
    last_activity: record.lastActivity,
    ended_at: record.endedAt,
    end_reason: record.endReason,
    permanent: record.permanent ? 1 : 0,
    source: record.source,
    reason: record.reason,
    offences: record.offences,
    tier: record.tier,
  };
}

// What went wrong with the store, said as what failed: a full disk, a read-only file system, a
// permission, a damaged file; each with what to do.
export function storeError(location: string, error: unknown, isRoot: boolean = process.getuid?.() === 0): XtbanError {
  const code = (error as { code?: string }).code ?? '';
  const text = error instanceof Error ? error.message : String(error);
  const fail = (what: string, hint: string) => new XtbanError(`ban store ${location}: ${what} (${text})`, { exitCode: ExitCode.system, hint, cause: error });
  if (error instanceof NewerStoreError) {
    return new XtbanError(
      `ban store ${location}: made by a newer xtban (schema ${error.found}, this one knows ${error.known}): upgrade xtban, or keep the store aside (mv ${location} ${location}.newer) and run this one on an empty store`,
      { exitCode: ExitCode.system, hint: 'nothing was written to it; `xtban status` shows the bans the kernel still holds, to ban again', cause: error },
    );
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || /database or disk is full/i.test(text)) {
    return fail('the disk is full', `free space on the file system of ${dirname(location)}; nothing was recorded`);
  }
  if (code === 'EROFS' || /read-only file system/i.test(text) || code.startsWith('SQLITE_READONLY')) {
    return fail('the file system or the file is read-only', `remount it read-write (or, under systemd, check ReadWritePaths=/StateDirectory=), or point --state-dir at a writable directory`);
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || /malformed|not a database/i.test(text)) {
    return fail(
      'the file is damaged',
      `keep it for inspection (mv ${location} ${location}.damaged), then run xtban again to start an empty store; \`xtban status\` shows the bans the kernel still holds, to ban again`,
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code.startsWith('SQLITE_CANTOPEN')) {
    return fail(
      'permission denied',
      isRoot ? `even root may not write there: a read-only mount or a sandbox (systemd's ProtectSystem=) is in the way; point --state-dir elsewhere` : 'run as root, or point --state-dir (or XTBAN_STATE_DIR) at a directory you can write',
    );
  }
  return fail('cannot be used', 'check the file and its directory; `xtban status` shows what the kernel holds');
}

// A store file must start with SQLite's header: anything else is a damaged store, never an empty one.
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
function checkHeader(location: string): void {
  let fd: number;
  try {
    fd = openSync(location, 'r');
  } catch {
    return;
  }
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const read = readSync(fd, head, 0, head.length, 0);
    // A store is put in place whole (createStoreFile): an empty or short file is a damaged one.
    if (read === 0) throw Object.assign(new Error('the file is empty (0 bytes)'), { code: 'SQLITE_CORRUPT' });
    if (!head.subarray(0, read).equals(SQLITE_HEADER.subarray(0, read))) {
      throw Object.assign(new Error('the file does not start with the SQLite header'), { code: 'SQLITE_NOTADB' });
    }
    if (read < SQLITE_HEADER.length) throw Object.assign(new Error(`the file is cut short (${read} bytes)`), { code: 'SQLITE_CORRUPT' });
  } finally {
    closeSync(fd);
  }
}

// Makes a new store beside its place and links it in whole, so that a store file is never seen empty
// or half made: two processes that start at once both make one, and the first link wins.
function createStoreFile(location: string): void {
  const temporary = `${location}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fresh = new Database(temporary, { nativeBinding: addonPath() });
    try {
      fresh.pragma('journal_mode = WAL');
      // Born at the current schema version.
      migrate(fresh);
    } finally {
      // Closing the last connection checkpoints the WAL into the file and removes it.
      fresh.close();
    }
    try {
      linkSync(temporary, location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } finally {
    for (const path of [temporary, `${temporary}-wal`, `${temporary}-shm`]) rmSync(path, { force: true });
  }
}

// PRAGMA quick_check on open: damaged pages are found before a command trusts the store (about 36 ms
// for 100,000 bans and 200,000 events, under a millisecond for a thousand).
function quickCheck(db: Database.Database): void {
  const problems = db.pragma('quick_check(5)', { simple: false }) as { quick_check: string }[];
  const found = problems.map((row) => row.quick_check).filter((text) => text !== 'ok');
  if (found.length > 0) throw Object.assign(new Error(`PRAGMA quick_check found: ${found.join('; ')}`), { code: 'SQLITE_CORRUPT' });
}

// better-sqlite3 finds its addon through the bindings package, which tries a dozen paths and reads a stack
// trace to do it (about 1 ms of every command); resolved here once, or left to it when the layout differs.
function addonPath(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined;
  }
}

// A statement or transaction made on first use: each command needs few of the store's, and preparing all
// of them cost every process about half a millisecond.
function lazy<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

// Opens (creating if needed) the store in a state directory, or in memory for tests (':memory:').
export function openBanStore(stateDir: string): BanStore {
  const location = stateDir === ':memory:' ? ':memory:' : join(stateDir, STORE_FILE);
  let opened: Database.Database | undefined;
  try {
    if (stateDir !== ':memory:') {
      makeStateDir(stateDir);
      if (!existsSync(location)) createStoreFile(location);
      checkHeader(location);
    }
    opened = new Database(location, { timeout: 30_000, nativeBinding: addonPath(), fileMustExist: stateDir !== ':memory:' });
    // A store from a newer xtban is refused before anything (even the journal mode) is written to it.
    refuseNewer(opened);
    // WAL: readers never wait for the writer; FULL: a committed ban survives a power cut, not only a kill.
    opened.pragma('journal_mode = WAL');
    opened.pragma('synchronous = FULL');
    quickCheck(opened);
    // Forward-only, one transaction per step (store-migrations.ts): an older store is brought up to date.
    migrate(opened);
  } catch (error) {
    opened?.close();
    throw storeError(location, error);
  }
  const db = opened;

  const selectOne = lazy(() => db.prepare<[string, string], BanRow>('SELECT * FROM bans WHERE jail = ? AND address = ?'));
  const selectAll = lazy(() => db.prepare<[], RawBanRow>(`SELECT ${BAN_COLUMNS} FROM bans ORDER BY jail, address`).raw());
  const selectJail = lazy(() => db.prepare<[string], RawBanRow>(`SELECT ${BAN_COLUMNS} FROM bans WHERE jail = ? ORDER BY address`).raw());
  const selectOpen = lazy(() => db.prepare<[], RawBanRow>(`SELECT ${BAN_COLUMNS} FROM bans WHERE ended_at IS NULL ORDER BY jail, address`).raw());
  const selectOpenJail = lazy(() => db.prepare<[string], RawBanRow>(`SELECT ${BAN_COLUMNS} FROM bans WHERE jail = ? AND ended_at IS NULL ORDER BY address`).raw());
  const upsert = lazy(() => db.prepare<BanRow>(`INSERT INTO bans (jail, address, family, banned_at, last_activity, ended_at, end_reason, permanent, source, reason, offences, tier)
    VALUES (@jail, @address, @family, @banned_at, @last_activity, @ended_at, @end_reason, @permanent, @source, @reason, @offences, @tier)
    ON CONFLICT (jail, address) DO UPDATE SET family = excluded.family, banned_at = excluded.banned_at, last_activity = excluded.last_activity,
      ended_at = excluded.ended_at, end_reason = excluded.end_reason, permanent = excluded.permanent, source = excluded.source,
      reason = excluded.reason, offences = excluded.offences, tier = excluded.tier`));
  const endOne = lazy(() => db.prepare<[number, string, string, string]>('UPDATE bans SET ended_at = ?, end_reason = ? WHERE jail = ? AND address = ? AND ended_at IS NULL'));
  const endJail = lazy(() => db.prepare<[number, string, string]>('UPDATE bans SET ended_at = ?, end_reason = ? WHERE jail = ? AND ended_at IS NULL'));
  const raiseActivity = lazy(() => db.prepare<[number, string, string, number]>('UPDATE bans SET last_activity = ? WHERE jail = ? AND address = ? AND last_activity < ?'));
  const insertEvent = lazy(() => db.prepare<[number, string, string, string, string, string | null]>('INSERT INTO events (time, jail, address, action, source, detail) VALUES (?, ?, ?, ?, ?, ?)'));
  const acknowledgeAll = lazy(() => db.transaction((seqs: readonly number[]) => {
    for (const seq of seqs) deleteOutbox().run(seq);
  }));
  // The outbox's seq is kept: dead letters read in the order the requests were made.
  const insertDead = lazy(() => db.prepare<[number, string, number]>(
    'INSERT OR REPLACE INTO dead_letters (seq, target, verb, jail, address, created, refused_at, answer) SELECT seq, target, verb, jail, address, created, ?, ? FROM outbox WHERE seq = ?',
  ));
  const settleAll = lazy(() => db.transaction((acknowledged: readonly number[], refused: readonly { seq: number; answer: string }[], nowMs: number) => {
    for (const { seq, answer } of refused) {
      insertDead().run(nowMs, answer, seq);
      deleteOutbox().run(seq);
    }
    for (const seq of acknowledged) deleteOutbox().run(seq);
  }));
  const countDead = lazy(() => db.prepare<[], { target: string; count: number }>('SELECT target, COUNT(*) AS count FROM dead_letters GROUP BY target'));
  const selectDead = lazy(() => db.prepare<[string, number], DeadLetter>(
    'SELECT seq, target, verb, jail, address, created, refused_at AS refusedAt, answer FROM dead_letters WHERE target = ? ORDER BY seq DESC LIMIT ?',
  ));
  const deleteDead = lazy(() => db.prepare<[string]>('DELETE FROM dead_letters WHERE target = ?'));
  const deleteAllDead = lazy(() => db.prepare<[]>('DELETE FROM dead_letters'));
  const selectDelivered = lazy(() => db.prepare<[string], { id: string }>('SELECT id FROM delivered WHERE id = ?'));
  const insertDelivered = lazy(() => db.prepare<[string, number]>('INSERT OR IGNORE INTO delivered (id, time) VALUES (?, ?)'));
  const countPlacement = lazy(() =>
    db.prepare<[], { jail: string; action: 'evicted' | 'unplaced' | 'moved'; count: number }>(
      "SELECT jail, action, COUNT(*) AS count FROM events WHERE action IN ('evicted', 'unplaced', 'moved') GROUP BY jail, action",
    ),
  );
  const selectEvents = lazy(() => db.prepare<[number], BanEvent>('SELECT time, jail, address, action, source, detail FROM events ORDER BY id DESC LIMIT ?'));
  const selectJailEvents = lazy(() => db.prepare<[string, number], BanEvent>('SELECT time, jail, address, action, source, detail FROM events WHERE jail = ? ORDER BY id DESC LIMIT ?'));

  const insertOutbox = lazy(() => db.prepare<[string, string, string, string, number]>('INSERT INTO outbox (target, verb, jail, address, created) VALUES (?, ?, ?, ?, ?)'));
  const selectOutbox = lazy(() => db.prepare<[string, number], OutboxItem>('SELECT seq, target, verb, jail, address, created FROM outbox WHERE target = ? ORDER BY seq LIMIT ?'));
  const deleteOutbox = lazy(() => db.prepare<[number]>('DELETE FROM outbox WHERE seq = ?'));
  const countOutbox = lazy(() => db.prepare<[], { target: string; count: number }>('SELECT target, COUNT(*) AS count FROM outbox GROUP BY target'));
  const selectMeta = lazy(() => db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'));
  const insertMeta = lazy(() => db.prepare<[string, string]>('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)'));
  const replaceMeta = lazy(() => db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'));
  const enqueueAll = lazy(() => db.transaction((items: readonly Omit<OutboxItem, 'seq' | 'created'>[], nowMs: number) => {
    for (const item of items) insertOutbox().run(item.target, item.verb, item.jail, item.address, nowMs);
  }));
  // IMMEDIATE: take the write lock at the start, so concurrent banners queue instead of failing to upgrade.
  const banAll = lazy(() => db.transaction(
    (
      requests: readonly BanRequest[],
      tierWindows: (jail: string) => readonly number[],
      nowMs: number,
      outbox: ((decisions: readonly BanDecision[]) => Omit<OutboxItem, 'seq' | 'created'>[]) | undefined,
    ) => {
      const decisions = requests.map((request) => {
        const existing = selectOne().get(request.jail, request.address);
        const decision = planBan(existing && fromRow(existing), request, tierWindows(request.jail), nowMs);
        upsert().run(toRow(decision.record));
        const action = decision.kind === 'new' ? 'ban' : decision.kind;
        insertEvent().run(nowMs, request.jail, request.address, action, request.source, detailOf(decision));
        return decision;
      });
      for (const item of outbox?.(decisions) ?? []) insertOutbox().run(item.target, item.verb, item.jail, item.address, nowMs);
      return decisions;
    },
  ));
  const unbanAll = lazy(() => db.transaction((jail: string, addresses: readonly string[], source: string, nowMs: number) => {
    const ended: BanRecord[] = [];
    for (const address of addresses) {
      const row = selectOne().get(jail, address);
      if (row && endOne().run(nowMs, 'unban', jail, address).changes > 0) ended.push(fromRow(row));
      insertEvent().run(nowMs, jail, address, 'unban', source, null);
    }
    return ended;
  }));
  const flushJail = lazy(() => db.transaction((jail: string, source: string, nowMs: number) => {
    const changes = endJail().run(nowMs, 'flush', jail).changes;
    insertEvent().run(nowMs, jail, '*', 'flush', source, `${changes} bans ended`);
    return changes;
  }));
  const endSome = lazy(() => db.transaction(
    (jail: string, addresses: readonly string[] | 'all', may: (record: BanRecord) => boolean, how: 'unban' | 'flush', source: string, nowMs: number) => {
      const open = addresses === 'all' ? selectOpenJail().all(jail).map(fromRawRow) : addresses.flatMap((address) => {
        const row = selectOne().get(jail, address);
        return row && row.ended_at === null ? [fromRow(row)] : [];
      });
      const ended: BanRecord[] = [];
      const kept: BanRecord[] = [];
      for (const record of open) {
        if (!may(record)) {
          kept.push(record);
          continue;
        }
        endOne().run(nowMs, how, jail, record.address);
        insertEvent().run(nowMs, jail, record.address, how, source, null);
        ended.push(record);
      }
      return { ended, kept };
    },
  ));
  const endOver = lazy(() => db.transaction((items: readonly { jail: string; address: string }[], tierWindows: (jail: string) => readonly number[], nowMs: number) => {
    let ended = 0;
    for (const item of items) {
      const row = selectOne().get(item.jail, item.address);
      if (!row) continue;
      const record = fromRow(row);
      if (isLiveInTiers(record, tierWindows(item.jail), nowMs)) continue;
      if (endOne().run(nowMs, 'reaped', item.jail, item.address).changes > 0) {
        ended++;
        insertEvent().run(nowMs, item.jail, item.address, 'reaped', 'reaper', null);
      }
    }
    return ended;
  }));
  const touchAll = lazy(() => db.transaction((updates: readonly { jail: string; address: string; lastActivity: number }[]) => {
    let moved = 0;
    for (const update of updates) moved += raiseActivity().run(update.lastActivity, update.jail, update.address, update.lastActivity).changes;
    return moved;
  }));
  const noteAll = lazy(() => db.transaction((events: readonly BanEvent[]) => {
    for (const event of events) insertEvent().run(event.time, event.jail, event.address, event.action, event.source, event.detail);
  }));

  const guarded = <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      throw storeError(location, error);
    }
  };

  return {
    location,
    get: (jail, address) => guarded(() => {
      const row = selectOne().get(jail, address);
      return row && fromRow(row);
    }),
    list: (jail) => guarded(() => (jail === undefined ? selectAll().all() : selectJail().all(jail)).map(fromRawRow)),
    open: (jail) => guarded(() => (jail === undefined ? selectOpen().all() : selectOpenJail().all(jail)).map(fromRawRow)),
    ban: (requests, tierWindows, nowMs, outbox) => guarded(() => banAll().immediate(requests, tierWindows, nowMs, outbox)),
    unban: (jail, addresses, source, nowMs) => guarded(() => unbanAll().immediate(jail, addresses, source, nowMs)),
    flush: (jail, source, nowMs) => guarded(() => flushJail().immediate(jail, source, nowMs)),
    endWhere: (jail, addresses, may, how, source, nowMs) => guarded(() => endSome().immediate(jail, addresses, may, how, source, nowMs)),
    endIfOver: (items, tierWindows, nowMs) => (items.length === 0 ? 0 : guarded(() => endOver().immediate(items, tierWindows, nowMs))),
    touch: (updates) => (updates.length === 0 ? 0 : guarded(() => touchAll().immediate(updates))),
    note: (events) => {
      if (events.length > 0) guarded(() => noteAll().immediate(events));
    },
    events: (jail, limit = 100) => guarded(() => (jail === undefined ? selectEvents().all(limit) : selectJailEvents().all(jail, limit))),
    placementCounts: () => guarded(() => countPlacement().all()),
    enqueue: (items, nowMs) => {
      if (items.length > 0) guarded(() => enqueueAll().immediate(items, nowMs));
    },
    pending: (target, limit) => guarded(() => selectOutbox().all(target, limit)),
    acknowledge: (seqs) => {
      if (seqs.length > 0) guarded(() => acknowledgeAll().immediate(seqs));
    },
    settle: (acknowledged, refused, nowMs) => {
      if (acknowledged.length > 0 || refused.length > 0) guarded(() => settleAll().immediate(acknowledged, refused, nowMs));
    },
    deadLetterCounts: () => guarded(() => new Map(countDead().all().map((row) => [row.target, row.count]))),
    deadLetters: (target, limit) => guarded(() => selectDead().all(target, limit)),
    forgetDeadLetters: (target) => guarded(() => (target === undefined ? deleteAllDead().run() : deleteDead().run(target)).changes),
    outboxSizes: () => guarded(() => new Map(countOutbox().all().map((row) => [row.target, row.count]))),
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
    delivered: (id) => guarded(() => selectDelivered().get(id) !== undefined),
    markDelivered: (id, nowMs) => {
      guarded(() => insertDelivered().run(id, nowMs));
    },
    close: () => db.close(),
  };
}

function detailOf(decision: BanDecision): string {
  const { record } = decision;
  const parts = [`offence ${record.offences}`, `tier ${record.tier}`];
  if (record.permanent) parts.push('permanent');
  if (record.reason) parts.push(record.reason);
  return parts.join(', ');
}
