import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FreshSafelist, withFreshSafelist } from '../../src/adapters/fresh-safelist.js';
import { parseNetwork } from '../../src/core/address.js';
import { safelistMatch, type SafeEntry } from '../../src/core/safelist.js';
import { scratchDir } from '../helpers/scratch.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const safe = (list: { entries: readonly SafeEntry[] }, address: string) =>
  safelistMatch(list, { ...parseNetwork(address), prefix: address.includes(':') ? 128 : 32 }) !== undefined;

describe('FreshSafelist', () => {
  it('sees a line added to a safelist file from the next batch of admissions on', async () => {
    const dir = scratchDir('xtban-fresh-');
    const file = join(dir, 'safe.txt');
    writeFileSync(file, '198.51.100.1\n');
    const errors: string[] = [];
    const fresh = new FreshSafelist({ addresses: ['192.0.2.0/28'], files: [file], ownAddresses: false }, 'test.toml', { entries: [] }, (problem) =>
      errors.push(problem),
    );
    expect(safe(fresh.current(), '198.51.100.1')).toBe(true);
    expect(safe(fresh.current(), '192.0.2.5')).toBe(true);
    expect(safe(fresh.current(), '198.51.100.2')).toBe(false);
    writeFileSync(file, '198.51.100.1\n198.51.100.2\n');
    await nextTurn();
    expect(safe(fresh.current(), '198.51.100.2')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('keeps the last good entries of a file that breaks or disappears, and says so once per version', async () => {
    const dir = scratchDir('xtban-fresh-');
    const file = join(dir, 'safe.txt');
    writeFileSync(file, '198.51.100.1\n');
    const errors: string[] = [];
    const fresh = new FreshSafelist({ addresses: [], files: [file], ownAddresses: false }, 'test.toml', { entries: [] }, (problem) => errors.push(problem));
    expect(safe(fresh.current(), '198.51.100.1')).toBe(true);
    writeFileSync(file, 'not an address\n');
    await nextTurn();
    expect(safe(fresh.current(), '198.51.100.1')).toBe(true);
    await nextTurn();
    fresh.current();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/last good entries stay in force/);
    rmSync(file);
    await nextTurn();
    expect(safe(fresh.current(), '198.51.100.1')).toBe(true);
    expect(errors).toHaveLength(2);
  });

  it('does not believe a file emptied a moment ago (a rewrite in place truncates first)', async () => {
    const dir = scratchDir('xtban-fresh-');
    const file = join(dir, 'safe.txt');
    writeFileSync(file, '198.51.100.1\n');
    const fresh = new FreshSafelist({ addresses: [], files: [file], ownAddresses: false }, 'test.toml', { entries: [] }, () => undefined);
    expect(safe(fresh.current(), '198.51.100.1')).toBe(true);
    writeFileSync(file, '');
    await nextTurn();
    expect(safe(fresh.current(), '198.51.100.1')).toBe(true);
    // Emptied for more than a second: the administrator meant it.
    const old = new Date(Date.now() - 5000);
    utimesSync(file, old, old);
    await nextTurn();
    expect(safe(fresh.current(), '198.51.100.1')).toBe(false);
  });

  it('reads the interface addresses again for each batch, not for each admission', async () => {
    let reads = 0;
    let own: SafeEntry[] = [];
    const readOwn = () => {
      reads++;
      return own;
    };
    const fresh = new FreshSafelist({ addresses: [], files: [], ownAddresses: true }, 'test.toml', { entries: [] }, () => undefined, readOwn);
    const before = reads;
    for (let index = 0; index < 100; index++) fresh.current();
    expect(reads - before).toBe(1);
    expect(safe(fresh.current(), '203.0.113.9')).toBe(false);
    own = [{ network: parseNetwork('203.0.113.9'), origin: 'own address on eth0' }];
    await nextTurn();
    expect(safe(fresh.current(), '203.0.113.9')).toBe(true);
  });

  it('gives a context whose every read of `safelist` is fresh', async () => {
    const dir = scratchDir('xtban-fresh-');
    const file = join(dir, 'safe.txt');
    writeFileSync(file, '');
    const config = { safelist: { addresses: [], files: [file], ownAddresses: false }, source: 'test.toml' };
    const context = withFreshSafelist({ config: config as never, safelist: { entries: [] } }, () => undefined);
    expect(safe(context.safelist, '192.0.2.77')).toBe(false);
    writeFileSync(file, '192.0.2.77\n');
    await nextTurn();
    expect(safe(context.safelist, '192.0.2.77')).toBe(true);
  });
});
