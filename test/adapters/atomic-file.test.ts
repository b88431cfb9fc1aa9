import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/adapters/atomic-file.js';
import { scratchDir } from '../helpers/scratch.js';

// The random part of the temporary name, fixed by a test that plants a link at it.
const random = vi.hoisted(() => ({ next: [] as Buffer[] }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, randomBytes: (size: number) => random.next.shift() ?? actual.randomBytes(size) };
});

afterEach(() => {
  random.next = [];
});

const writers = {
  async: writeFileAtomic,
  sync: async (...args: Parameters<typeof writeFileAtomicSync>) => writeFileAtomicSync(...args),
};

describe.each(Object.entries(writers))('writeFileAtomic (%s)', (_name, write) => {
  it('replaces the file whole and leaves no temporary file', async () => {
    const dir = scratchDir('xtban-atomic-');
    const path = join(dir, 'record.json');
    await write(path, 'first\n');
    expect(readFileSync(path, 'utf8')).toBe('first\n');
    await write(path, 'second\n');
    expect(readFileSync(path, 'utf8')).toBe('second\n');
    await write(path, 'third\n', { fsync: true });
    expect(readFileSync(path, 'utf8')).toBe('third\n');
    expect(readdirSync(dir)).toEqual(['record.json']);
  });

  it('applies the mode exactly, also over an existing file with another', async () => {
    const dir = scratchDir('xtban-atomic-');
    const path = join(dir, 'record.json');
    writeFileSync(path, 'old\n', { mode: 0o644 });
    await write(path, 'new\n', { mode: 0o600 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await write(path, 'newer\n', { mode: 0o640, fsync: true });
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  it('keeps the old file and leaves no temporary file when the data cannot be written', async () => {
    const dir = scratchDir('xtban-atomic-');
    const path = join(dir, 'record.json');
    writeFileSync(path, 'old\n');
    await expect(write(path, 42 as unknown as string)).rejects.toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['record.json']);
  });

  it('keeps what is at the target and leaves no temporary file when the rename fails', async () => {
    const dir = scratchDir('xtban-atomic-');
    const path = join(dir, 'record.json');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'kept\n');
    await expect(write(path, 'new\n', { fsync: true })).rejects.toThrow();
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('kept\n');
    expect(readdirSync(dir)).toEqual(['record.json']);
  });

  it('fails into a directory that is not there, and makes nothing', async () => {
    const dir = scratchDir('xtban-atomic-');
    await expect(write(join(dir, 'gone', 'record.json'), 'new\n')).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never follows a link planted at the temporary name', async () => {
    const dir = scratchDir('xtban-atomic-');
    const path = join(dir, 'record.json');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'untouched\n');
    const planted = Buffer.from('000000000000', 'hex');
    const link = join(dir, `.record.json.${process.pid}.000000000000.tmp`);
    symlinkSync(victim, link);
    random.next = [planted];
    await write(path, 'new\n', { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    expect(statSync(victim).mode & 0o777).not.toBe(0o600);
    // Someone else's link is left where it is: it is not ours to remove.
    expect(readlinkSync(link)).toBe(victim);
    expect(readdirSync(dir).sort()).toEqual([`.record.json.${process.pid}.000000000000.tmp`, 'record.json', 'victim']);
  });

  it('gives up rather than follow when every name it tries is taken', async () => {
    const dir = scratchDir('xtban-atomic-');
    const path = join(dir, 'record.json');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'untouched\n');
    symlinkSync(victim, join(dir, `.record.json.${process.pid}.000000000000.tmp`));
    random.next = Array.from({ length: 10 }, () => Buffer.from('000000000000', 'hex'));
    await expect(write(path, 'new\n')).rejects.toThrow(/EEXIST/);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
  });
});

describe('writeFileAtomic', () => {
  it('keeps the old file when the data fails part way, and removes what it had written', async () => {
    const dir = scratchDir('xtban-atomic-');
    const path = join(dir, 'record.json');
    writeFileSync(path, 'old\n');
    async function* halfThenFail(): AsyncGenerator<string> {
      yield 'half of the new';
      expect(readFileSync(path, 'utf8')).toBe('old\n');
      throw new Error('the data failed');
    }
    await expect(writeFileAtomic(path, halfThenFail(), { fsync: true })).rejects.toThrow('the data failed');
    expect(readFileSync(path, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['record.json']);
  });

  it('fails when its directory disappears during the write, and leaves nothing behind', async () => {
    const dir = scratchDir('xtban-atomic-');
    const sub = join(dir, 'state');
    mkdirSync(sub);
    async function* thenRemoveDirectory(): AsyncGenerator<string> {
      yield 'half of the new';
      rmSync(sub, { recursive: true, force: true });
      yield 'the rest';
    }
    await expect(writeFileAtomic(join(sub, 'record.json'), thenRemoveDirectory())).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
