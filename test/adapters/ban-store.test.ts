import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBanStore, storeError } from '../../src/adapters/ban-store.js';
import { resolveStateDir } from '../../src/adapters/state-dir.js';
import type { BanRequest } from '../../src/core/bans.js';
import { XtbanError } from '../../src/core/errors.js';
import { scratchDir } from '../helpers/scratch.js';

const request = (address: string, extra: Partial<BanRequest> = {}): BanRequest => ({
  jail: 'ssh',
  address,
  family: 4,
  source: 'cli',
  reason: null,
  permanent: false,
  ...extra,
});
const tiers = () => [60, 3600];

describe('ban store', () => {
  it('records bans, refreshes, repeats and unbans, and keeps them across reopening', () => {
    const dir = scratchDir('xtban-store-');
    let store = openBanStore(dir);
    const first = store.ban([request('192.0.2.1'), request('192.0.2.2', { permanent: true, reason: 'scanner' })], tiers, 1000);
    expect(first.map((decision) => decision.kind)).toEqual(['new', 'new']);
    expect(store.ban([request('192.0.2.1')], tiers, 2000)[0]?.kind).toBe('refresh');
    expect(store.unban('ssh', ['192.0.2.1', '192.0.2.99'], 'cli', 3000).map((record) => record.address)).toEqual(['192.0.2.1']);
    // open(): only bans not ended; list(): every record, ended or not, as whole records.
    expect(store.open().map((record) => record.address)).toEqual(['192.0.2.2']);
    expect(store.open('web')).toEqual([]);
    expect(store.list('ssh').map((record) => [record.address, record.endReason, record.permanent])).toEqual([
      ['192.0.2.1', 'unban', false],
      ['192.0.2.2', null, true],
    ]);
    store.close();

    store = openBanStore(dir);
    expect(store.get('ssh', '192.0.2.1')).toMatchObject({ endedAt: 3000, endReason: 'unban', offences: 1 });
    expect(store.get('ssh', '192.0.2.2')).toMatchObject({ permanent: true, reason: 'scanner', endedAt: null });
    const repeat = store.ban([request('192.0.2.1')], tiers, 4000)[0];
    // Unbanned on purpose: a new offence, but no longer ban.
    expect(repeat).toMatchObject({ kind: 'repeat', record: { offences: 2, tier: 0, endedAt: null } });
    expect(
      store.touch([
        { jail: 'ssh', address: '192.0.2.1', lastActivity: 9000 },
        { jail: 'ssh', address: '192.0.2.1', lastActivity: 5000 },
      ]),
    ).toBe(1);
    expect(store.get('ssh', '192.0.2.1')?.lastActivity).toBe(9000);
    expect(store.flush('ssh', 'cli', 10_000)).toBe(2);
    expect(store.list('ssh').every((record) => record.endedAt === 10_000)).toBe(true);
    expect(store.events('ssh', 10).map((event) => event.action)).toEqual(['flush', 'repeat', 'unban', 'unban', 'refresh', 'ban', 'ban']);
    store.close();
  });

  it('ends only the bans it may, in one transaction, and leaves the others as they were', () => {
    const store = openBanStore(':memory:');
    store.ban(
      [
        request('192.0.2.1', { permanent: true }),
        request('192.0.2.2', { source: 'remote:web1' }),
        request('192.0.2.3', { source: 'remote:web1' }),
        request('192.0.2.4', { source: 'remote:web2' }),
      ],
      tiers,
      1000,
    );
    const before = store.get('ssh', '192.0.2.1');
    const mine = (record: { source: string }) => record.source === 'remote:web1';
    const unban = store.endWhere('ssh', ['192.0.2.1', '192.0.2.2', '192.0.2.99'], mine, 'unban', 'remote:web1', 2000);
    expect(unban.ended.map((record) => record.address)).toEqual(['192.0.2.2']);
    expect(unban.kept.map((record) => record.address)).toEqual(['192.0.2.1']);
    expect(store.get('ssh', '192.0.2.1')).toEqual(before);
    expect(store.get('ssh', '192.0.2.2')).toMatchObject({ endedAt: 2000, endReason: 'unban' });
    const flush = store.endWhere('ssh', 'all', mine, 'flush', 'remote:web1', 3000);
    expect(flush.ended.map((record) => record.address)).toEqual(['192.0.2.3']);
    expect(flush.kept.map((record) => record.address)).toEqual(['192.0.2.1', '192.0.2.4']);
    expect(store.open().map((record) => record.address)).toEqual(['192.0.2.1', '192.0.2.4']);
    expect(store.events('ssh', 2).map((event) => [event.action, event.address, event.source])).toEqual([
      ['flush', '192.0.2.3', 'remote:web1'],
      ['unban', '192.0.2.2', 'remote:web1'],
    ]);
    store.close();
  });

  it('moves refused requests into the dead letters with the acknowledged ones out, in one transaction, in order', () => {
    const dir = scratchDir('xtban-store-');
    let store = openBanStore(dir);
    store.enqueue(
      ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].map((address) => ({ target: 'fw', verb: 'ban' as const, jail: 'web', address })),
      1000,
    );
    store.enqueue([{ target: 'fw2', verb: 'ban', jail: 'ssh', address: '192.0.2.9' }], 1000);
    const [first, second, third] = store.pending('fw', 10);
    if (!first || !second || !third) throw new Error('not queued');
    store.settle([first.seq, third.seq], [{ seq: second.seq, answer: `@x-${second.seq} error refused: jail web is not permitted here` }], 5000);
    expect(store.pending('fw', 10).map((item) => item.address)).toEqual(['192.0.2.4']);
    expect(store.deadLetterCounts()).toEqual(new Map([['fw', 1]]));
    // A central firewall's request carries no fleet fields into the dead letters.
    const { permanent: _permanent, tier: _tier, reason: _reason, ...request } = second;
    expect(store.deadLetters('fw', 5)).toEqual([{ ...request, refusedAt: 5000, answer: `@x-${second.seq} error refused: jail web is not permitted here` }]);
    const [fourth] = store.pending('fw', 10);
    if (!fourth) throw new Error('not queued');
    store.settle([], [{ seq: fourth.seq, answer: 'error refused: x' }], 6000);
    store.close();

    // Durable, newest first, per target; forgetting one target's leaves the others'.
    store = openBanStore(dir);
    expect(store.deadLetters('fw', 1).map((letter) => letter.address)).toEqual(['192.0.2.4']);
    expect(store.deadLetters('fw', 5).map((letter) => letter.address)).toEqual(['192.0.2.4', '192.0.2.2']);
    expect(store.outboxSizes()).toEqual(new Map([['fw2', 1]]));
    const [other] = store.pending('fw2', 1);
    if (!other) throw new Error('not queued');
    store.settle([], [{ seq: other.seq, answer: 'error refused: y' }], 7000);
    expect(store.forgetDeadLetters('fw')).toBe(2);
    expect(store.deadLetterCounts()).toEqual(new Map([['fw2', 1]]));
    expect(store.forgetDeadLetters()).toBe(1);
    expect(store.deadLetterCounts().size).toBe(0);
    store.close();
  });

  it('says how to fix a state directory it cannot use', () => {
    const error = (() => {
      try {
        openBanStore('/proc/xtban-cannot-be-here');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(XtbanError);
    expect((error as XtbanError).exitCode).toBe(3);
    expect((error as XtbanError).message).toContain('ban store /proc/xtban-cannot-be-here/bans.sqlite: ');
  });

  it('says what failed: a full disk, a read-only file system, a permission, a damaged file', () => {
    const cases: [object, RegExp, RegExp][] = [
      [Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), /the disk is full/, /free space on the file system of \/var\/lib\/xtban/],
      [Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }), /read-only/, /remount it read-write/],
      [Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' }), /read-only/, /--state-dir/],
      [Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' }), /the file is damaged/, /bans\.sqlite\.damaged/],
    ];
    for (const [cause, what, hint] of cases) {
      const error = storeError('/var/lib/xtban/bans.sqlite', cause, true);
      expect(error.message).toMatch(what);
      expect(error.hint).toMatch(hint);
    }
    const denied = Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' });
    expect(storeError('/x/bans.sqlite', denied, true).hint).toMatch(/even root may not write there/);
    expect(storeError('/x/bans.sqlite', denied, false).hint).toMatch(/run as root/);
  });

  it('refuses a store file that is not SQLite, never taking it as an empty store', () => {
    const dir = scratchDir('xtban-store-');
    writeFileSync(join(dir, 'bans.sqlite'), 'garbage garbage garbage garbage');
    expect(() => openBanStore(dir)).toThrow(/the file is damaged/);
    writeFileSync(join(dir, 'bans.sqlite'), 'SQLite');
    expect(() => openBanStore(dir)).toThrow(/damaged|cut short/);
  });

  it('refuses an empty store file: a store is always put in place whole', () => {
    const dir = scratchDir('xtban-store-');
    writeFileSync(join(dir, 'bans.sqlite'), '');
    expect(() => openBanStore(dir)).toThrow(/the file is damaged \(the file is empty/);
    // A new state directory gets a whole store at once, and leaves no temporary file behind.
    const fresh = scratchDir('xtban-store-');
    openBanStore(fresh).close();
    expect(readdirSync(fresh).filter((name) => name.includes('.new-'))).toEqual([]);
    expect(readFileSync(join(fresh, 'bans.sqlite')).subarray(0, 15).toString('latin1')).toBe('SQLite format 3');
  });

  it('finds damaged pages on open (PRAGMA quick_check) and stops with the way out', () => {
    const dir = scratchDir('xtban-store-');
    const store = openBanStore(dir);
    store.ban(
      Array.from({ length: 2000 }, (_, i) => request(`10.0.${i >> 8}.${i & 255}`)),
      tiers,
      1000,
    );
    store.close();
    const path = join(dir, 'bans.sqlite');
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
    // Garbage over a page in the middle of the file: the header stays good, the b-tree does not.
    const page = Math.floor(bytes.length / pageSize / 2);
    bytes.fill(0xa5, page * pageSize, (page + 1) * pageSize);
    writeFileSync(path, bytes);
    let caught: unknown;
    try {
      openBanStore(dir).close();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(XtbanError);
    expect((caught as XtbanError).message).toMatch(/the file is damaged/);
    expect((caught as XtbanError).hint).toMatch(/bans\.sqlite\.damaged/);
  });

  it('finds its directory from --state-dir, then XTBAN_STATE_DIR, then /var/lib/xtban', () => {
    expect(resolveStateDir('/a', { XTBAN_STATE_DIR: '/b' })).toBe('/a');
    expect(resolveStateDir(undefined, { XTBAN_STATE_DIR: '/b' })).toBe('/b');
    expect(resolveStateDir(undefined, {})).toBe('/var/lib/xtban');
  });
});
