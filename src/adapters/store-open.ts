import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { closeSync, existsSync, linkSync, openSync, readSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ExitCode, XtbanError } from '../core/errors.js';
import { makeStateDir } from './state-dir.js';
import { migrate, NewerStoreError, refuseNewer } from './store-migrations.js';

// The store's one file name inside a state directory, so that opening it and looking at it agree.
export const STORE_FILE = 'bans.sqlite';

// What went wrong with the store, said as what failed: a full disk, a read-only file system, a permission, a damaged file; each with what to do.
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
    return fail(
      'the file system or the file is read-only',
      `remount it read-write (or, under systemd, check ReadWritePaths=/StateDirectory=), or point --state-dir at a writable directory`,
    );
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
      isRoot
        ? `even root may not write there: a read-only mount or a sandbox (systemd's ProtectSystem=) is in the way; point --state-dir elsewhere`
        : 'run as root, or point --state-dir (or XTBAN_STATE_DIR) at a directory you can write',
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

// A statement or transaction made on first use: each command needs few of the store's, and preparing all of them cost every process about half a millisecond.
export function lazy<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

// Every store call runs through it, so that a failure reaches the caller as storeError's words.
export type Guarded = <T>(work: () => T) => T;

// Maps the store's failures at `location` to what failed and what to do (storeError).
export function guardFor(location: string): Guarded {
  return <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      throw storeError(location, error);
    }
  };
}

// Opens (creating if needed) the store's database in a state directory, or in memory for tests (':memory:'), checked and brought up to date.
export function openStoreDatabase(stateDir: string): { location: string; db: Database.Database } {
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
  return { location, db: opened };
}
